import { z } from 'zod';

const role = z
  .enum(['admin', 'viewer'])
  .describe('`admin`: every camera and all management; `viewer`: its grants.');
const password = z.string().min(8).max(1024).describe('8-1024 characters; stored only as a scrypt hash.');

/** A user name in a path; the registry's own rule (USER_NAME_INVALID) is checked on add. */
export const userNameParams = z.object({ name: z.string().min(1).max(64) });
/** A user name and a camera (device id) in a path. */
export const userGrantParams = z.object({
  name: z.string().min(1).max(64),
  camera: z.string().min(1).max(128),
});

/** What a viewer may do with one camera. */
export const grantSchema = z
  .object({
    camera: z.string().describe('The device id.'),
    live: z.boolean().describe('May watch it live.'),
    recordings: z.boolean().describe('May list, play and export its recordings.'),
  })
  .meta({ id: 'Grant' });

/** A user as `GET /api/users` lists it (never its password hash). */
export const userSchema = z
  .object({
    name: z.string(),
    role,
    createdAt: z.string().describe('ISO 8601 time, UTC.'),
    grants: z
      .array(grantSchema)
      .describe('Per-camera rights; an admin sees every camera whatever these say (kept for a demotion).'),
  })
  .meta({ id: 'User' });

export type UserDocument = z.infer<typeof userSchema>;

export const userListSchema = z.object({ users: z.array(userSchema) }).meta({ id: 'UserList' });

/** `POST /api/users`. */
export const userAddSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(64)
      .describe('1-64 letters, digits, ".", "_", "-" or "@", starting with a letter or digit.'),
    role: role.default('viewer'),
    password,
  })
  .strict()
  .meta({ id: 'UserAdd' });

/** `PATCH /api/users/:name`. */
export const userRoleSchema = z.object({ role }).strict().meta({ id: 'UserRole' });

/** `PUT /api/users/:name/password`. */
export const userPasswordSchema = z.object({ password }).strict().meta({ id: 'UserPassword' });

/** `PUT /api/users/:name/grants/:camera`: both false takes the grant away. */
export const grantChangeSchema = z
  .object({ live: z.boolean(), recordings: z.boolean() })
  .strict()
  .meta({ id: 'GrantChange' });

/** `GET /api/setup`: whether the first admin may still be created from the browser. */
export const setupStateSchema = z
  .object({
    open: z
      .boolean()
      .describe(
        'No user exists yet: `POST /api/setup` with the code the server printed creates the first admin.',
      ),
  })
  .meta({ id: 'SetupState' });

/** `POST /api/setup`: the first admin, with the one-time code from the server's first-run output. */
export const setupSchema = z
  .object({
    code: z.string().min(1).max(128).describe('The setup code the server printed at start.'),
    username: z.string().min(1).max(64),
    password,
  })
  .strict()
  .meta({ id: 'Setup' });
