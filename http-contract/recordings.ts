import { z } from 'zod';

const isoTime = z.string().describe('ISO 8601 time, UTC.');

export const segmentSchema = z
  .object({
    id: z.number().int(),
    start: isoTime,
    end: isoTime.nullable().describe('Null while it is being written.'),
    durationMs: z.number().nullable(),
    bytes: z.number().int(),
    videoCodec: z.string().nullable(),
    audioCodec: z.string().nullable(),
    state: z.string().describe('`complete`, or `writing` while ffmpeg writes it.'),
    url: z
      .string()
      .nullable()
      .describe('Where to fetch the file (complete segments only), from any node of a cluster.'),
    node: z
      .string()
      .describe(
        "The node whose disk holds the file (`cluster.nodeId`; a single host's own id). Any node serves it, reading another node's file through that node.",
      ),
  })
  .meta({ id: 'Segment' });

export const gapSchema = z
  .object({
    start: isoTime,
    end: isoTime.nullable().describe('Null while the gap lasts.'),
    reason: z.string().describe('Why nothing was recorded, e.g. `camera-offline`, `recorder-fault`.'),
  })
  .meta({ id: 'Gap' });

/** A camera's segments and gaps over a time range. */
export const recordingListingSchema = z
  .object({
    device: z.string(),
    from: isoTime,
    to: isoTime,
    segments: z.array(segmentSchema),
    gaps: z.array(gapSchema),
  })
  .meta({ id: 'RecordingListing' });

export type RecordingListing = z.infer<typeof recordingListingSchema>;

/** `?from=&to=` (ISO 8601 or relative, e.g. `-1h`); `access_token` where a browser cannot send headers. */
export const rangeQuerySchema = z.object({
  from: z
    .string()
    .max(64)
    .optional()
    .describe('Start: ISO 8601 or relative (`-1h`, `-90s`, `-2d`). Default -24h.'),
  to: z.string().max(64).optional().describe('End, same forms. Default now.'),
  access_token: z
    .string()
    .max(256)
    .optional()
    .describe('The API token, for media links (`<video src>`, downloads) that cannot send a header.'),
});
