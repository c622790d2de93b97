import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Device, deviceJson } from '../devices/index.js';
import { deviceIdParams, deviceListSchema, deviceSchema } from '../http-contract/index.js';
import { type Access, principalOf, requireRight, seesCamera } from './auth.js';
import { sendProblem } from './problem.js';
import { bearer, problems } from './responses.js';

// The CLI prints the same document (`--json`) without loading the HTTP server, so it lives in devices/.
export { deviceJson };

export interface DeviceReader {
  list(): Promise<Device[]>;
  get(id: string): Promise<Device | undefined>;
}

export function deviceRoutes(app: FastifyInstance, deps: { devices: DeviceReader; access: Access }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/devices',
    {
      preHandler: requireRight(deps.access, 'view'),
      schema: {
        summary:
          'The devices the caller may see (an admin: every one), with online state and recording policy.',
        tags: ['devices'],
        ...bearer,
        response: { 200: deviceListSchema, ...problems(401) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const devices = await deps.devices.list();
      return { devices: devices.filter((d) => seesCamera(principal, d.id)).map(deviceJson) };
    },
  );
  api.get(
    '/api/devices/:id',
    {
      preHandler: requireRight(deps.access, 'see', { camera: (r) => (r.params as { id: string }).id }),
      schema: {
        summary: 'One device (a right on it needed).',
        tags: ['devices'],
        ...bearer,
        params: deviceIdParams,
        response: { 200: deviceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
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
    },
  );
}
