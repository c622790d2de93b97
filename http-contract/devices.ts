import { z } from 'zod';
import { edgeConfigSchema } from '../edge-config/schema.js';

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

const recordMode = z.enum(['off', 'continuous', 'on-demand']);

/** `POST /api/devices`. */
export const deviceAddSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(64)
      .describe('Device id: a-z, 0-9 and -, 1-64 characters, starting and ending with a letter or digit.'),
    name: z.string().min(1).max(200).optional().describe('Display name (default: the id).'),
    recording: z
      .object({
        mode: recordMode.optional(),
        maxAgeHours: z.number().int().min(1).max(87_600).nullable().optional(),
      })
      .strict()
      .optional()
      .describe('Recording policy to start with (default: off, the server retention).'),
  })
  .strict()
  .meta({ id: 'DeviceAdd' });

/** `PATCH /api/devices/:id`. */
export const deviceRenameSchema = z
  .object({ name: z.string().min(1).max(200).describe('New display name.') })
  .strict()
  .meta({ id: 'DeviceRename' });

/**
 * A device and its edge config, answered once by add and rotate: the config holds the device
 * secret, which the server does not keep and never shows again.
 */
export const issuedDeviceSchema = z
  .object({
    device: deviceSchema,
    edgeConfig: edgeConfigSchema.describe(
      'The file to flash onto the camera (`lookout agent --config <id>.json`). Holds the secret: shown once.',
    ),
  })
  .meta({ id: 'IssuedDevice' });

export type IssuedDeviceDocument = z.infer<typeof issuedDeviceSchema>;

/** `DELETE /api/devices/:id?recordings=`. */
export const deviceDeleteQuerySchema = z
  .object({
    recordings: z
      .enum(['delete', 'keep'])
      .describe(
        '`delete`: its recordings go with it (files and index). `keep`: they stay listable and downloadable under the id until retention removes them.',
      ),
  })
  .strict();

/** What `DELETE /api/devices/:id` answers. */
export const deviceDeletedSchema = z
  .object({
    device: deviceSchema.describe('The device as it was.'),
    recordings: z.enum(['delete', 'keep']),
    deletedSegments: z.number().int().describe('Recordings deleted with it (0 when kept).'),
  })
  .meta({ id: 'DeviceDeleted' });
