import { z } from 'zod';

/** `POST /api/session`: sign in with a user name and password (D34). */
export const signInSchema = z
  .object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
  })
  .strict()
  .meta({ id: 'SignIn' });

/** Who the caller is and what it may do: the answer to sign-in and to `GET /api/session`. */
export const sessionSchema = z
  .object({
    kind: z.enum(['session', 'token']).describe('Signed in with the cookie, or an API token.'),
    user: z.string().nullable().describe('The user; null for a legacy admin token.'),
    name: z.string().describe('What to call the caller: the user, or the token name.'),
    role: z.enum(['admin', 'viewer']),
    readOnly: z.boolean(),
    cameras: z
      .array(z.object({ id: z.string(), live: z.boolean(), recordings: z.boolean() }))
      .nullable()
      .describe('A viewer or limited token: the cameras it may see and how; null: every camera.'),
    csrf: z
      .string()
      .optional()
      .describe('With the cookie: send it as X-Lookout-CSRF on every POST, PATCH and DELETE.'),
  })
  .meta({ id: 'Session' });

export type SessionDocument = z.infer<typeof sessionSchema>;
