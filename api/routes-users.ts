import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import type { User, UserStore } from '../devices/index.js';
import {
  grantChangeSchema,
  type UserDocument,
  userAddSchema,
  userGrantParams,
  userListSchema,
  userNameParams,
  userPasswordSchema,
  userRoleSchema,
  userSchema,
} from '../http-contract/index.js';
import { type Access, principalOf, requireRight } from './auth.js';
import { bearer, problems } from './responses.js';
import type { DeviceReader } from './routes-devices.js';
import { checkRemoval, checkRoleChange } from './user-admin-rules.js';

/**
 * User administration (issue 12, D38): list, add, password, role, remove, per-camera grants.
 * Admins only; what they may not do (remove themselves, leave no admin) is user-admin-rules.ts.
 * A removed user, a changed password or a grant taken away ends that user's live views and
 * event streams within a second through the principal watch (D34), as when the CLI does it.
 */
export function userRoutes(
  app: FastifyInstance,
  deps: { users: UserStore; devices: DeviceReader; access: Access },
): void {
  // As for device management: authorized in onRequest, so a caller without the right learns
  // nothing from body validation.
  const admin = requireRight(deps.access, 'admin');
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { users } = deps;
  // Changes that check "the last admin" run one at a time here, so two admins demoting each
  // other at once cannot both pass the check (another process, the CLI, is not serialized).
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const document = async (user: User): Promise<UserDocument> => ({
    name: user.name,
    role: user.role,
    createdAt: new Date(user.createdAt).toISOString(),
    grants: (await users.grants(user.name)).map((g) => ({
      camera: g.camera,
      live: g.live,
      recordings: g.recordings,
    })),
  });
  const existing = async (name: string) => {
    const user = await users.get(name);
    if (!user) throw new LookoutError('USER_NOT_FOUND', `no user '${name}'`, { name });
    return user;
  };
  const tags = ['users'];

  api.get(
    '/api/users',
    {
      onRequest: admin,
      schema: {
        summary: 'Every user with its role and per-camera grants.',
        tags,
        ...bearer,
        response: { 200: userListSchema, ...problems(401, 403) },
      },
    },
    async () => ({ users: await Promise.all((await users.list()).map(document)) }),
  );

  api.post(
    '/api/users',
    {
      onRequest: admin,
      schema: {
        summary: 'Adds a user with a role and an initial password.',
        tags,
        ...bearer,
        body: userAddSchema,
        response: { 201: userSchema, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { name, role, password } = request.body;
      const user = await users.add(name, role, password);
      request.log.info({ user: name, role, by: principalOf(request).name }, 'user added');
      return reply.code(201).send(await document(user));
    },
  );

  api.patch(
    '/api/users/:name',
    {
      onRequest: admin,
      schema: {
        summary: "Changes a user's role; the last admin cannot be demoted (409 LAST_ADMIN).",
        tags,
        ...bearer,
        params: userNameParams,
        body: userRoleSchema,
        response: { 200: userSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { role } = request.body;
      const user = await serially(async () => {
        const target = await existing(name);
        checkRoleChange(target, role, await users.list());
        return target.role === role ? target : users.setRole(name, role);
      });
      request.log.info({ user: name, role, by: principalOf(request).name }, 'user role set');
      return document(user);
    },
  );

  api.put(
    '/api/users/:name/password',
    {
      onRequest: admin,
      schema: {
        summary:
          "Sets a user's password; the user's sessions end (all but the caller's own, when changing one's own password).",
        tags,
        ...bearer,
        params: userNameParams,
        body: userPasswordSchema,
        response: { 200: userSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const principal = principalOf(request);
      const own = principal.kind === 'session' && principal.user === name;
      const user = await users.setPassword(
        name,
        request.body.password,
        own ? { keepSession: principal.key.slice(2) } : {},
      );
      request.log.info({ user: name, by: principal.name }, 'user password set; its other sessions ended');
      return document(user);
    },
  );

  api.delete(
    '/api/users/:name',
    {
      onRequest: admin,
      schema: {
        summary:
          'Removes a user: its sessions, live views and API tokens end. Not oneself (409 USER_SELF_REMOVE), not the last admin (409 LAST_ADMIN).',
        tags,
        ...bearer,
        params: userNameParams,
        response: { 204: z.undefined().describe('Removed.'), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const principal = principalOf(request);
      await serially(async () => {
        const target = await existing(name);
        checkRemoval(principal.user, target, await users.list());
        await users.remove(name);
      });
      request.log.info({ user: name, by: principal.name }, 'user removed');
      return reply.code(204).send();
    },
  );

  api.put(
    '/api/users/:name/grants/:camera',
    {
      onRequest: admin,
      schema: {
        summary:
          "Sets what a user may do with a camera (live, recordings); both false takes the grant away and ends the user's live views of it.",
        tags,
        ...bearer,
        params: userGrantParams,
        body: grantChangeSchema,
        response: { 200: userSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { name, camera } = request.params;
      const user = await existing(name);
      if (!(await deps.devices.get(camera))) {
        throw new LookoutError('DEVICE_NOT_FOUND', `no device '${camera}'`, { id: camera });
      }
      await users.grant(name, camera, request.body);
      request.log.info({ user: name, camera, ...request.body, by: principalOf(request).name }, 'grant set');
      return document(user);
    },
  );

  api.delete(
    '/api/users/:name/grants/:camera',
    {
      onRequest: admin,
      schema: {
        summary: "Takes a user's grant on a camera away; its live views of that camera end within a second.",
        tags,
        ...bearer,
        params: userGrantParams,
        response: { 200: userSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { name, camera } = request.params;
      const user = await existing(name);
      await users.grant(name, camera, { live: false, recordings: false });
      request.log.info({ user: name, camera, by: principalOf(request).name }, 'grant taken away');
      return document(user);
    },
  );
}
