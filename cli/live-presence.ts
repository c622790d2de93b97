import type { HttpDeps } from '../api/index.js';
import type { Device } from '../devices/index.js';

type DeviceReader = HttpDeps['devices'];

/** The broker's view of a device's presence (Broker.presenceOf). */
export type PresenceOf = (deviceId: string) => { online: boolean; at: number } | undefined;

/**
 * The registry's devices with the broker's presence over them. The registry's `online` and
 * `last_seen_at` columns lag by up to the presence writer's interval (they are written in
 * batches), so a list read just after a camera was disconnected would still say online; where
 * the broker knows otherwise, its state (and the time of the change) is answered.
 */
export function withLivePresence(reader: DeviceReader, presenceOf: PresenceOf): DeviceReader {
  const live = (device: Device): Device => {
    const status = presenceOf(device.id);
    if (!status || status.online === device.online) return device;
    return { ...device, online: status.online, lastSeenAt: status.at };
  };
  return {
    list: async () => (await reader.list()).map(live),
    get: async (id) => {
      const device = await reader.get(id);
      return device && live(device);
    },
  };
}
