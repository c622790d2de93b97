import { z } from 'zod';

/**
 * The device-side contract: the file flashed onto a camera. Firmware authors get it
 * as JSON Schema (edge-config/edge-config.schema.json, generated from this file by
 * `npm run gen:schema`); the reference agent loads it with loadEdgeConfig().
 * Version 1. New optional fields may be added within a version; anything else bumps it.
 */
const deviceId = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/)
  .describe('The device id: MQTT username, MQTT client id and topic level.');

const mqtt = z
  .object({
    url: z
      .string()
      .regex(/^mqtts?:\/\/[^/\s]+$/)
      .describe('Broker URL, mqtt://host:port (TCP) or mqtts://host:port (TLS).'),
    fallbackUrls: z
      .array(z.string().regex(/^mqtts?:\/\/[^/\s]+$/))
      .max(8)
      .optional()
      .describe(
        'Other brokers of the same cluster (mqtt:// or mqtts://), tried in turn after `url` when a connection fails or drops.',
      ),
    wsUrl: z
      .string()
      .regex(/^wss?:\/\/\S+$/)
      .optional()
      .describe('The same broker over WebSocket, for networks that pass only HTTP(S).'),
    username: z.string().min(1).describe('MQTT username: the device id.'),
    password: z
      .string()
      .min(1)
      .describe('MQTT password: the device secret. Keep it secret; rotate with `lookout device rotate`.'),
    clientId: z
      .string()
      .min(1)
      .describe('MQTT client id: must equal the device id or the broker refuses the connection.'),
    topicPrefix: z
      .string()
      .regex(/^[a-z0-9_-]{1,32}$/)
      .describe("First topic level; the device's subtree is <topicPrefix>/<deviceId>/."),
    keepaliveSeconds: z.number().int().min(5).max(1200).describe('MQTT keep-alive the device should use.'),
    caCert: z
      .string()
      .optional()
      .describe('PEM CA certificate to trust for mqtts:// or wss:// when the broker uses a private CA.'),
  })
  .strict();

const video = z
  .object({
    codec: z.enum(['h264', 'vp8']).describe('Video codec the device should send.'),
    h264Profile: z
      .enum(['baseline', 'main', 'high'])
      .optional()
      .describe(
        'H.264 profile (absent: constrained baseline). Viewers decode all three; baseline is cheapest for small cameras.',
      ),
    width: z.number().int().min(16).max(7680),
    height: z.number().int().min(16).max(4320),
    fps: z.number().int().min(1).max(120),
    bitrateKbps: z.number().int().min(50).max(50_000).describe('Target video bitrate.'),
    keyframeIntervalSeconds: z
      .number()
      .min(0.5)
      .max(60)
      .describe('Seconds between keyframes when nobody asks for one.'),
  })
  .strict();

const audio = z
  .object({
    codec: z.enum(['opus', 'pcmu', 'pcma', 'none']).describe('Audio codec, or none.'),
  })
  .strict();

const ice = z
  .object({
    forceRelay: z
      .boolean()
      .optional()
      .describe(
        'Use only TURN relay candidates (ICE transport policy `relay`), for networks where direct UDP is blocked or must not be used. Absent: false.',
      ),
  })
  .strict()
  .describe(
    "ICE behaviour. The TURN servers themselves are not configured here: the server sends them, with per-session credentials, in each offer's `iceServers`.",
  );

export const edgeConfigSchema = z
  .object({
    version: z.literal(1).describe('Edge config format version.'),
    deviceId,
    name: z.string().min(1).max(200).describe('Display name, for logs and people.'),
    mqtt,
    stream: z
      .object({ video, audio })
      .strict()
      .describe(
        'What the camera sends in every session. Fixed for version 1: no signaling message changes it at run time, and the server negotiates no bandwidth feedback (no REMB, TMMBR or transport-cc); it only asks for keyframes (PLI, FIR) and retransmissions (NACK). To change it, flash a new edge config.',
      ),
    ice: ice.optional(),
  })
  .strict()
  .describe('Lookout edge config: everything a camera needs to join a Lookout server.');

export type EdgeConfig = z.infer<typeof edgeConfigSchema>;

/** The JSON Schema published for firmware authors. */
export function edgeConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(edgeConfigSchema, { target: 'draft-2020-12' }),
    $id: 'urn:lookout:edge-config:v1',
    title: 'Lookout edge config',
  };
}
