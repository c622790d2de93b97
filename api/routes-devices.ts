import type { FastifyInstance } from 'fastify';
import type { Device } from '../devices/index.js';
import { requireToken, type TokenVerifier } from './auth.js';
import { sendProblem } from './problem.js';

export interface DeviceReader {
  list(): Device[];
  get(id: string): Device | undefined;
}

/** The public JSON form of a device; never includes secrets or hashes. */
export function deviceJson(device: Device) {
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

export function deviceRoutes(
  app: FastifyInstance,
  deps: { devices: DeviceReader; tokens: TokenVerifier },
): void {
  const auth = requireToken(deps.tokens);
  app.get('/api/devices', { preHandler: auth }, async () => ({
    devices: deps.devices.list().map(deviceJson),
  }));
  app.get<{ Params: { id: string } }>('/api/devices/:id', { preHandler: auth }, async (request, reply) => {
    const device = deps.devices.get(request.params.id);
    if (!device) {
      return sendProblem(reply, {
        status: 404,
        title: 'Not Found',
        code: 'DEVICE_NOT_FOUND',
        detail: `no device '${request.params.id}'`,
      });
    }
    return deviceJson(device);
  });
}
