import type { FastifyInstance } from 'fastify';
import { type Device, deviceJson } from '../devices/index.js';
import { requireToken, type TokenVerifier } from './auth.js';
import { sendProblem } from './problem.js';

// The CLI prints the same document (`--json`) without loading the HTTP server, so it lives in devices/.
export { deviceJson };

export interface DeviceReader {
  list(): Promise<Device[]>;
  get(id: string): Promise<Device | undefined>;
}

export function deviceRoutes(
  app: FastifyInstance,
  deps: { devices: DeviceReader; tokens: TokenVerifier },
): void {
  const auth = requireToken(deps.tokens);
  app.get('/api/devices', { preHandler: auth }, async () => ({
    devices: (await deps.devices.list()).map(deviceJson),
  }));
  app.get<{ Params: { id: string } }>('/api/devices/:id', { preHandler: auth }, async (request, reply) => {
    const device = await deps.devices.get(request.params.id);
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
