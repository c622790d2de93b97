import { z } from 'zod';

const isoTime = z.string().describe('ISO 8601 time, UTC.');

/** A device as the HTTP API and `lookout device --json` show it (never its secret). */
export const deviceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    online: z.boolean().describe('Connected to the MQTT broker now.'),
    lastSeenAt: isoTime.nullable(),
    createdAt: isoTime,
    revoked: z.boolean(),
    recording: z.object({
      mode: z.enum(['off', 'continuous', 'on-demand']),
      active: z.boolean().describe('Recording now wanted: `continuous`, or `on-demand` started.'),
      maxAgeHours: z
        .number()
        .int()
        .nullable()
        .describe('Retention of this camera; null: the server default.'),
    }),
  })
  .meta({ id: 'Device' });

export type DeviceDocument = z.infer<typeof deviceSchema>;

export const deviceListSchema = z.object({ devices: z.array(deviceSchema) }).meta({ id: 'DeviceList' });

/** `PATCH /api/devices/:id/recording`. */
export const recordingPolicySchema = z
  .object({
    mode: z.enum(['off', 'continuous', 'on-demand']).optional(),
    maxAgeHours: z.number().int().min(1).max(87_600).nullable().optional(),
  })
  .strict()
  .meta({ id: 'RecordingPolicy' });
