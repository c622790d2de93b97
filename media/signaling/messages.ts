import { z } from 'zod';

/**
 * The signaling protocol between the media node and a camera, carried as JSON over MQTT
 * (`<prefix>/<id>/down/signal` server -> device, `<prefix>/<id>/up/signal` device -> server).
 * Specified for firmware authors in docs/signaling.md; keep the two in step.
 */
export const PROTOCOL_VERSION = 1;

/** Largest signaling message accepted, in bytes of UTF-8 JSON. */
export const MAX_MESSAGE_BYTES = 65_536;

/** Stable error codes of `error` messages (docs/signaling.md §Errors). */
export const SignalErrorCode = {
  BAD_MESSAGE: 'BAD_MESSAGE',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  UNKNOWN_SESSION: 'UNKNOWN_SESSION',
  SDP_REJECTED: 'SDP_REJECTED',
  NO_COMMON_CODEC: 'NO_COMMON_CODEC',
  BUSY: 'BUSY',
  SOURCE_UNAVAILABLE: 'SOURCE_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;
export type SignalErrorCode = (typeof SignalErrorCode)[keyof typeof SignalErrorCode];

/** Why a session ended (`bye.reason`). Unknown reasons from devices are kept as `other`. */
export const ByeReason = [
  'no-demand',
  'timeout',
  'ice-failed',
  'replaced',
  'shutdown',
  'error',
  'source-ended',
  'other',
] as const;
export type ByeReason = (typeof ByeReason)[number];

const session = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'session must be 8-64 characters of A-Z a-z 0-9 _ -');
const sdp = z.string().min(10).max(60_000).startsWith('v=0', 'sdp must start with v=0');
const version = z.literal(PROTOCOL_VERSION);

const iceCandidate = z
  .object({
    candidate: z.string().max(1024),
    sdpMid: z.string().max(32).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  })
  .strict();

const iceServer = z
  .object({
    urls: z
      .array(
        z
          .string()
          .regex(/^(stun|stuns|turn|turns):\S+$/)
          .max(512),
      )
      .min(1)
      .max(8),
    username: z.string().max(512).optional(),
    credential: z.string().max(512).optional(),
  })
  .strict();

const reason = z
  .string()
  .max(64)
  .transform((r): ByeReason => ((ByeReason as readonly string[]).includes(r) ? (r as ByeReason) : 'other'));

const errorBody = {
  code: z.string().regex(/^[A-Z_]{2,40}$/),
  message: z.string().max(1024).optional(),
};

/** Messages a device sends (up/signal). Unknown fields are ignored, for forward compatibility. */
export const deviceMessageSchema = z.discriminatedUnion('type', [
  z.object({
    v: version,
    type: z.literal('hello'),
    agent: z.string().max(128).optional(),
    trickle: z.boolean().default(false),
  }),
  z.object({ v: version, type: z.literal('answer'), session, sdp }),
  z.object({ v: version, type: z.literal('candidate'), session, candidate: iceCandidate.nullable() }),
  z.object({ v: version, type: z.literal('bye'), session, reason: reason.optional() }),
  z.object({ v: version, type: z.literal('error'), session: session.optional(), ...errorBody }),
]);
export type DeviceMessage = z.infer<typeof deviceMessageSchema>;

/** Messages the server sends (down/signal). */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    v: version,
    type: z.literal('offer'),
    session,
    sdp,
    iceServers: z.array(iceServer).max(8),
    trickle: z.boolean(),
  }),
  z.object({ v: version, type: z.literal('candidate'), session, candidate: iceCandidate.nullable() }),
  z.object({ v: version, type: z.literal('bye'), session, reason: reason.optional() }),
  z.object({ v: version, type: z.literal('error'), session: session.optional(), ...errorBody }),
]);
export type ServerMessage = z.input<typeof serverMessageSchema>;
export type IceCandidateInit = z.infer<typeof iceCandidate>;
export type IceServer = z.infer<typeof iceServer>;

export type ParseResult<T> =
  | { ok: true; message: T }
  | { ok: false; code: SignalErrorCode; reason: string; session?: string };

/**
 * Validates one raw MQTT payload from a device: size first (before any parsing), then JSON,
 * then version, then schema. Never throws. The failure names what was wrong and, when it
 * could be read, the session it concerned, so the caller can answer with an `error`.
 */
export function parseDeviceMessage(payload: Uint8Array): ParseResult<DeviceMessage> {
  return parseWith(deviceMessageSchema, payload);
}

/** The same for server messages (used by the reference camera agent). */
export function parseServerMessage(payload: Uint8Array): ParseResult<z.infer<typeof serverMessageSchema>> {
  return parseWith(serverMessageSchema, payload);
}

function parseWith<S extends z.ZodType>(schema: S, payload: Uint8Array): ParseResult<z.infer<S>> {
  if (payload.length > MAX_MESSAGE_BYTES) {
    return {
      ok: false,
      code: 'BAD_MESSAGE',
      reason: `message of ${payload.length} bytes exceeds ${MAX_MESSAGE_BYTES}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return { ok: false, code: 'BAD_MESSAGE', reason: 'not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, code: 'BAD_MESSAGE', reason: 'not a JSON object' };
  }
  const record = json as Record<string, unknown>;
  const sessionId =
    typeof record.session === 'string' && session.safeParse(record.session).success
      ? record.session
      : undefined;
  const withSession = <T extends object>(r: T) => (sessionId ? { ...r, session: sessionId } : r);
  if (record.v !== PROTOCOL_VERSION) {
    return withSession({
      ok: false as const,
      code: 'UNSUPPORTED_VERSION' as const,
      reason: `protocol version ${String(record.v)} is not supported (this server speaks ${PROTOCOL_VERSION})`,
    });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return withSession({
      ok: false as const,
      code: 'BAD_MESSAGE' as const,
      reason: `${issue.path.join('.') || 'message'}: ${issue.message}`,
    });
  }
  return { ok: true, message: result.data };
}

/** Serialises a server message (validated in tests, not at runtime). */
export function encodeMessage(message: ServerMessage | DeviceMessage): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}
