/**
 * The registry's records as every component sees them, whichever store holds them
 * (SQLite or PostgreSQL). Times are epoch milliseconds.
 */

/** A registered camera. */
export interface Device {
  id: string;
  name: string;
  createdAt: number;
  lastSeenAt: number | null;
  online: boolean;
  revokedAt: number | null;
  /** Bumped on every rotate; a session authenticated under an older one is stale. */
  secretGeneration: number;
  recording: RecordingPolicy;
}

export type RecordMode = 'off' | 'continuous' | 'on-demand';
export const RECORD_MODES: readonly RecordMode[] = ['off', 'continuous', 'on-demand'];

/** What the recorder should do for a device. */
export interface RecordingPolicy {
  mode: RecordMode;
  /** on-demand: a user has started recording and not stopped it yet. */
  active: boolean;
  /** Retention override in hours; null means the global `recording.maxAgeHours`. */
  maxAgeHours: number | null;
}

/** Whether the device should be recorded now. */
export function wantsRecording(policy: RecordingPolicy): boolean {
  return policy.mode === 'continuous' || (policy.mode === 'on-demand' && policy.active);
}

/** A device and its secret: the only time a secret is ever available in clear. */
export interface IssuedCredentials {
  device: Device;
  secret: string;
}

export type VerifyResult =
  | { ok: true; generation: number }
  | { ok: false; reason: 'unknown-device' | 'revoked' | 'wrong-secret' };

export interface CredentialState {
  generation: number;
  revoked: boolean;
}

/** One device's presence as the registry records it. */
export interface PresenceChange {
  id: string;
  online: boolean;
  /** When the change happened (ms since the epoch): the registry's `last_seen_at`. */
  at: number;
}

/** An API token for people and scripts (HTTP API, WHEP). The token itself is never stored. */
export interface ApiToken {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  /** The user the token acts for (its rights at most); null: a legacy admin token (D34). */
  user: string | null;
  /** Limited to these cameras; null: every camera its user may see. */
  cameras: string[] | null;
  /** Refused on every state-changing request. */
  readOnly: boolean;
}

/** What a token is limited to when created (D34). */
export interface TokenScope {
  user?: string;
  cameras?: string[];
  readOnly?: boolean;
}

export type Role = 'admin' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'viewer'];

/** A person who signs in to the web app (D34). Passwords are stored only as scrypt hashes. */
export interface User {
  name: string;
  role: Role;
  createdAt: number;
  /** Bumped on every password change: sessions signed in under an older one end. */
  passwordGeneration: number;
}

/** What a viewer may do with one camera. */
export interface Grant {
  user: string;
  camera: string;
  live: boolean;
  recordings: boolean;
}

/** A signed-in browser session; the cookie value itself is never stored, only its keyed hash. */
export interface Session {
  id: string;
  user: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export type SegmentState = 'writing' | 'complete' | 'missing';
/** Why a gap is there; docs/recording.md lists them for users. */
export type GapReason =
  | 'camera-offline'
  | 'recorder-fault'
  | 'disk-full'
  | 'media-worker-died'
  | 'server-stopped'
  | 'server-down';

/** One recorded file. `path` is relative to the recordings directory. */
export interface Segment {
  id: number;
  deviceId: string;
  startMs: number;
  endMs: number | null;
  durationMs: number | null;
  bytes: number;
  videoCodec: string | null;
  audioCodec: string | null;
  path: string;
  state: SegmentState;
  /**
   * The node whose disk holds the file (`cluster.nodeId`; on a single host, its own id). `''`:
   * not known (a PostgreSQL row written before the column existed, D40).
   */
  node: string;
}

/** Time a device should have been recorded but was not. `endMs` is null while it lasts. */
export interface Gap {
  id: number;
  deviceId: string;
  startMs: number;
  endMs: number | null;
  reason: GapReason;
  /** The node whose recorder (or whose recovery) recorded the gap. */
  node: string;
}

/**
 * What changed: `added` (a new device), `rotated`, `revoked` (credentials), `recording` (the recording policy)
 * or `deleted` (the device is gone; its id may be added again).
 */
export type DeviceEventKind = 'added' | 'rotated' | 'revoked' | 'recording' | 'deleted';

/** What happens to a deleted device's recordings: removed with it, or kept (listable until retention removes them). */
export type DeleteRecordings = 'delete' | 'keep';

/** A deleted device, and the segments whose index rows went with it (their files are the caller's to remove). */
export interface DeletedDevice {
  device: Device;
  /** Empty when the recordings were kept. */
  segments: Segment[];
}
export type CredentialListener = (deviceId: string, kinds: ReadonlySet<DeviceEventKind>) => void;
