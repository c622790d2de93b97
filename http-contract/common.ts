import { z } from 'zod';

/** RFC 9457 problem details, every error of the HTTP API; `code` is Lookout's stable error code. */
export const problemSchema = z
  .object({
    type: z.string().describe('Always `about:blank`: `code` tells errors apart.'),
    status: z.number().int().describe('The HTTP status.'),
    title: z.string(),
    detail: z.string().optional().describe('What went wrong, for a person.'),
    code: z.string().describe('Stable error code, e.g. `DEVICE_NOT_FOUND`, `TOKEN_INVALID`.'),
  })
  .meta({ id: 'Problem' });

export type ProblemDocument = z.infer<typeof problemSchema>;

export const healthSchema = z.object({ status: z.literal('ok'), version: z.string() }).meta({ id: 'Health' });

/** A device id in a path (the registry's own rule is checked where it is looked up). */
export const deviceIdParams = z.object({ id: z.string().min(1).max(128) });
