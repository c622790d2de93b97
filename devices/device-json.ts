import type { DeviceDocument } from '../http-contract/index.js';
import type { Device } from './types.js';

/**
 * The public JSON form of a device, as the HTTP API serves it and `lookout device ... --json`
 * prints it (its schema: http-contract/devices.ts); never includes secrets or hashes.
 */
export function deviceJson(device: Device): DeviceDocument {
  return {
    id: device.id,
    name: device.name,
    online: device.online,
    lastSeenAt: device.lastSeenAt === null ? null : new Date(device.lastSeenAt).toISOString(),
    createdAt: new Date(device.createdAt).toISOString(),
    revoked: device.revokedAt !== null,
    recording: {
      mode: device.recording.mode,
      active: device.recording.mode === 'continuous' || device.recording.active,
      maxAgeHours: device.recording.maxAgeHours,
    },
  };
}
