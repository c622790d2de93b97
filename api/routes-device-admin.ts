import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  type DeletedDevice,
  type DeleteRecordings,
  type Device,
  deviceJson,
  type IssuedCredentials,
  type RecordMode,
} from '../devices/index.js';
import type { EdgeConfig } from '../edge-config/index.js';
import {
  deviceAddSchema,
  deviceDeletedSchema,
  deviceDeleteQuerySchema,
  deviceIdParams,
  deviceRenameSchema,
  deviceSchema,
  issuedDeviceSchema,
} from '../http-contract/index.js';
import { type Access, requireRight } from './auth.js';
import { bearer, problems } from './responses.js';

/**
 * What device management needs of the server (cli/server.ts wires it): the registry's changes,
 * plus what must follow a delete there (sessions ended, recorder stopped, files removed).
 */
export interface DeviceAdmin {
  add(id: string, name?: string): Promise<IssuedCredentials>;
  rename(id: string, name: string): Promise<Device>;
  setRecording(id: string, change: { mode?: RecordMode; maxAgeHours?: number | null }): Promise<Device>;
  rotate(id: string): Promise<IssuedCredentials>;
  revoke(id: string): Promise<Device>;
  /** Resolves once the device's sessions are ended, its recorder stopped and (`delete`) its files gone. */
  remove(id: string, recordings: DeleteRecordings): Promise<DeletedDevice>;
  /** The edge config for freshly issued credentials, with this server's public broker URLs. */
  edgeConfig(issued: IssuedCredentials): EdgeConfig;
}

/** Device management: add, rename, rotate, revoke, delete (issue 12, item 2). */
export function deviceAdminRoutes(
  app: FastifyInstance,
  deps: { admin: DeviceAdmin; access: Access; policyChanged(id: string): void },
): void {
  // The one authorization point of these routes: admins only. On onRequest, not preHandler: a
  // caller without the right learns nothing from body validation.
  const admin = requireRight(deps.access, 'admin');
  const api = app.withTypeProvider<ZodTypeProvider>();
  const issued = (credentials: IssuedCredentials) => ({
    device: deviceJson(credentials.device),
    edgeConfig: deps.admin.edgeConfig(credentials),
  });

  api.post(
    '/api/devices',
    {
      onRequest: admin,
      schema: {
        summary: 'Registers a device; answers its edge config (with its secret) this once.',
        tags: ['devices'],
        ...bearer,
        body: deviceAddSchema,
        response: { 201: issuedDeviceSchema, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { id, name, recording } = request.body;
      let credentials = await deps.admin.add(id, name);
      if (recording && (recording.mode !== undefined || recording.maxAgeHours !== undefined)) {
        const device = await deps.admin.setRecording(id, {
          ...(recording.mode !== undefined ? { mode: recording.mode } : {}),
          ...(recording.maxAgeHours !== undefined ? { maxAgeHours: recording.maxAgeHours } : {}),
        });
        credentials = { ...credentials, device };
        deps.policyChanged(id);
      }
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(issued(credentials));
    },
  );

  api.patch(
    '/api/devices/:id',
    {
      onRequest: admin,
      schema: {
        summary: 'Renames a device.',
        tags: ['devices'],
        ...bearer,
        params: deviceIdParams,
        body: deviceRenameSchema,
        response: { 200: deviceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => deviceJson(await deps.admin.rename(request.params.id, request.body.name)),
  );

  api.post(
    '/api/devices/:id/rotate',
    {
      onRequest: admin,
      schema: {
        summary:
          'Issues a new secret (a revoked device is reinstated); the old one stops working and a connected device is disconnected. Answers the new edge config this once.',
        tags: ['devices'],
        ...bearer,
        params: deviceIdParams,
        response: { 200: issuedDeviceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return issued(await deps.admin.rotate(request.params.id));
    },
  );

  api.post(
    '/api/devices/:id/revoke',
    {
      onRequest: admin,
      schema: {
        summary: 'Refuses the device from now on; a connected device is disconnected.',
        tags: ['devices'],
        ...bearer,
        params: deviceIdParams,
        response: { 200: deviceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => deviceJson(await deps.admin.revoke(request.params.id)),
  );

  api.delete(
    '/api/devices/:id',
    {
      onRequest: admin,
      schema: {
        summary:
          'Deletes a device: disconnected, its recorder stopped, its id free to add again; its recordings deleted or kept as asked.',
        tags: ['devices'],
        ...bearer,
        params: deviceIdParams,
        querystring: deviceDeleteQuerySchema,
        response: { 200: deviceDeletedSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { recordings } = request.query;
      const deleted = await deps.admin.remove(request.params.id, recordings);
      return { device: deviceJson(deleted.device), recordings, deletedSegments: deleted.segments.length };
    },
  );
}
