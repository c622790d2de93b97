/**
 * The MQTT topic tree and the per-identity ACL: pure functions, no broker needed.
 *
 *   <prefix>/<deviceId>/status        retained presence, written by the server only
 *   <prefix>/<deviceId>/down/<name>   server -> device (e.g. down/signal)
 *   <prefix>/<deviceId>/up/<name>     device -> server (e.g. up/signal)
 *
 * A device publishes only under its own `up/`, subscribes only inside its own
 * subtree; server-side services may use the whole `<prefix>/` tree.
 * Documented for firmware authors in docs/mqtt-topics.md.
 */

/** Who a connected client is, decided once at CONNECT. */
export type Identity =
  | { kind: 'device'; deviceId: string; generation: number }
  | { kind: 'service'; name: string };

export interface DeviceTopics {
  /** Subtree root, without trailing slash. */
  root: string;
  status: string;
  /** Server -> device messages live below this (`<down>/signal`, ...). */
  down: string;
  /** Device -> server messages live below this. */
  up: string;
}

export function deviceTopics(prefix: string, deviceId: string): DeviceTopics {
  const root = `${prefix}/${deviceId}`;
  return { root, status: `${root}/status`, down: `${root}/down`, up: `${root}/up` };
}

/**
 * The device a concrete topic belongs to (`lookout/cam1/up/signal` -> `cam1`), or
 * undefined when it lies outside the device tree.
 */
export function deviceOfTopic(prefix: string, topic: string): string | undefined {
  const levels = topic.split('/');
  if (levels.length < 3 || levels[0] !== prefix) return undefined;
  return levels[1] || undefined;
}

/** May `identity` publish to the concrete topic `topic`? */
export function canPublish(prefix: string, identity: Identity, topic: string): boolean {
  if (hasWildcard(topic) || topic.startsWith('$')) return false;
  if (identity.kind === 'service') return topic.startsWith(`${prefix}/`);
  const { up } = deviceTopics(prefix, identity.deviceId);
  // At least one level below up/: "up/signal", "up/events/motion".
  return topic.startsWith(`${up}/`) && topic.length > up.length + 1;
}

/** May `identity` subscribe to the filter `filter` (wildcards allowed)? */
export function canSubscribe(prefix: string, identity: Identity, filter: string): boolean {
  if (!isValidFilter(filter) || filter.startsWith('$')) return false;
  const levels = filter.split('/');
  if (identity.kind === 'service') return levels[0] === prefix;
  // [MQTT-4.7.1]: '+' or '#' in the first two levels would reach other devices.
  return levels.length >= 3 && levels[0] === prefix && levels[1] === identity.deviceId;
}

function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

/** [MQTT-4.7.1-2], [MQTT-4.7.1-3]: '#' only last and alone in its level, '+' alone in its level. */
function isValidFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level.includes('#')) return level === '#' && i === levels.length - 1;
    if (level.includes('+')) return level === '+';
    return true;
  });
}
