import { z } from 'zod';

/** `GET /api/devices/:id/still.jpg?wake=1&access_token=`. */
export const stillQuerySchema = z.object({
  wake: z
    .enum(['0', '1'])
    .optional()
    .describe(
      '`1`: when the camera is not streaming, ask it for its stream briefly to make a picture (wakes a ' +
        'sleeping or cellular camera; the web app sends it only when the user asks). Default: never wake.',
    ),
  access_token: z
    .string()
    .max(256)
    .optional()
    .describe('The API token, for `<img src>` that cannot send a header.'),
});

/** Where a still picture came from (`X-Lookout-Still-Source`). */
export const stillSourceSchema = z
  .enum(['live', 'wake', 'recording'])
  .describe(
    '`live`: the latest keyframe of the stream the server receives now; `wake`: a keyframe the camera ' +
      'sent when woken for it; `recording`: the thumbnail of the newest recorded segment.',
  );

export type StillSource = z.infer<typeof stillSourceSchema>;
