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

/**
 * Does the concrete topic `topic` match the subscription filter `filter`? [MQTT-4.7.1]:
 * '+' is exactly one level (empty levels count), '#' is the rest including the parent
 * level ('sport/#' matches 'sport'); [MQTT-4.7.2-1]: a filter starting with a wildcard
 * does not match a topic starting with '$'.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Which devices' topics a filter can match, decided from its first two levels alone, so a
 * lookup costs one device for a device's own filter and a scan only for service filters
 * like `<prefix>/+/status`: 'none', one device id, or 'all'.
 */
export function devicesOfFilter(prefix: string, filter: string): 'none' | 'all' | { deviceId: string } {
  const [first, second] = filter.split('/', 2);
  if (first === '#') return 'all';
  if (first !== prefix && first !== '+') return 'none';
  if (second === undefined) return 'none';
  if (second === '+' || second === '#') return 'all';
  return second ? { deviceId: second } : 'none';
}
