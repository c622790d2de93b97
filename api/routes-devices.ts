import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Device, deviceJson } from '../devices/index.js';
import { deviceIdParams, deviceListSchema, deviceSchema } from '../http-contract/index.js';
import { requireToken, type TokenVerifier } from './auth.js';
import { sendProblem } from './problem.js';
import { bearer, problems } from './responses.js';

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
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/devices',
    {
      preHandler: auth,
      schema: {
        summary: 'Every registered device, with its online state and recording policy.',
        tags: ['devices'],
        ...bearer,
        response: { 200: deviceListSchema, ...problems(401) },
      },
    },
    async () => ({ devices: (await deps.devices.list()).map(deviceJson) }),
  );
  api.get(
    '/api/devices/:id',
    {
      preHandler: auth,
      schema: {
        summary: 'One device.',
        tags: ['devices'],
        ...bearer,
        params: deviceIdParams,
        response: { 200: deviceSchema, ...problems(400, 401, 404) },
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
