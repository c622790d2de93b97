import type {
  ApiToken,
  CredentialListener,
  CredentialState,
  DeletedDevice,
  DeleteRecordings,
  Device,
  Gap,
  GapReason,
  Grant,
  IssuedCredentials,
  PresenceChange,
  RecordMode,
  Role,
  Segment,
  SegmentState,
  Session,
  TokenScope,
  User,
  VerifyResult,
} from './types.js';

/**
 * The registry's seams (docs/decisions.md D29). Every method answers with a Promise so a
 * store may live in another process (PostgreSQL); the SQLite stores answer at once. A store
 * that cannot reach its database rejects with REGISTRY_UNAVAILABLE.
 */

/** Devices and their secrets. */
export interface DeviceStore {
  /** Registers a device and issues its first secret. Rejects with DEVICE_ID_INVALID or DEVICE_EXISTS. */
  add(id: string, name?: string): Promise<IssuedCredentials>;
  get(id: string): Promise<Device | undefined>;
  /** Like get(), but rejects with DEVICE_NOT_FOUND. */
  require(id: string): Promise<Device>;
  list(): Promise<Device[]>;
  rename(id: string, name: string): Promise<Device>;
  /**
   * Changes the recording policy. A running server (this process or another) picks the
   * change up through the device event log within a second. Switching to `on-demand`
   * or `off` clears an active on-demand recording; `active` applies only to `on-demand`.
   */
  setRecording(
    id: string,
    change: { mode?: RecordMode; active?: boolean; maxAgeHours?: number | null },
  ): Promise<Device>;
  /**
   * Issues a new secret; the old one stops working at once and sessions using it are
   * disconnected by the broker. A revoked device is reinstated with the new secret.
   */
  rotate(id: string): Promise<IssuedCredentials>;
  /** Refuses the device's secret from now on; connected sessions are disconnected. */
  revoke(id: string): Promise<Device>;
  /**
   * Removes the device in one transaction: its secret stops working at once (the broker ends its
   * sessions on the `deleted` event) and its id may be added again. `recordings: 'delete'` also
   * removes its segments and gaps from the index and answers the segments (the caller deletes their
   * files); `keep` leaves them indexed under the id until retention removes them. DEVICE_NOT_FOUND.
   */
  delete(id: string, options: { recordings: DeleteRecordings }): Promise<DeletedDevice>;
  /** Checks a device's secret in constant time (for a known device). Never rejects on bad input. */
  verifySecret(id: string, secret: string): Promise<VerifyResult>;
  /** What a live session's credentials are checked against after a change. */
  credentialState(id: string): Promise<CredentialState | undefined>;
  markOnline(id: string): Promise<void>;
  markOffline(id: string): Promise<void>;
  /** Records many presence changes in one transaction, each with the time it happened. */
  recordPresence(changes: readonly PresenceChange[]): Promise<void>;
  /** At server start nothing is connected yet, whatever a crash left behind. */
  markAllOffline(): Promise<void>;
}

/** API tokens. */
export interface TokenStore {
  /** Creates a token; the returned `token` string is shown once and never again. */
  create(name?: string, scope?: TokenScope): Promise<{ token: string; info: ApiToken }>;
  /** The token's record when `token` is valid and not revoked; undefined otherwise. */
  verify(token: string): Promise<ApiToken | undefined>;
  /** Whether the token `id` exists and is not revoked, whichever process revoked it. */
  isActive(id: string): Promise<boolean>;
  list(): Promise<ApiToken[]>;
  require(id: string): Promise<ApiToken>;
  revoke(id: string): Promise<ApiToken>;
}

/** A session found by its cookie value, with its user and the CSRF token that goes with it. */
export interface SignedIn {
  session: Session;
  user: User;
  csrf: string;
}

/**
 * Users, their per-camera grants and their browser sessions (D34). Removing a user, changing a
 * password or a grant is seen by a running server (this process or another) within a second:
 * it checks the principals of open live sessions against this store (api/principal-watch.ts).
 */
export interface UserStore {
  /** Rejects with USER_NAME_INVALID, USER_EXISTS or PASSWORD_INVALID. */
  add(name: string, role: Role, password: string): Promise<User>;
  get(name: string): Promise<User | undefined>;
  list(): Promise<User[]>;
  count(): Promise<number>;
  /**
   * New password; every session of the user ends, but `keepSession` (the session of a user
   * changing their own password). Rejects with USER_NOT_FOUND or PASSWORD_INVALID.
   */
  setPassword(name: string, password: string, options?: { keepSession?: string }): Promise<User>;
  setRole(name: string, role: Role): Promise<User>;
  /** Deletes the user, its grants and sessions, and revokes its API tokens. */
  remove(name: string): Promise<void>;
  /** The user when the password matches; undefined otherwise (as slow for an unknown name). */
  verifyPassword(name: string, password: string): Promise<User | undefined>;
  /** Sets what `name` may do with `camera`; both false removes the grant. */
  grant(
    name: string,
    camera: string,
    rights: { live: boolean; recordings: boolean },
  ): Promise<Grant | undefined>;
  grants(name: string): Promise<Grant[]>;
  /** Signs in: the returned `cookie` value is shown once, only its keyed hash is stored. */
  createSession(name: string): Promise<{ cookie: string } & SignedIn>;
  /** The live session of this cookie value (not expired, not idle too long); refreshes its last use. */
  session(cookie: string): Promise<SignedIn | undefined>;
  /** The live session with this id (what the principal watch asks). */
  sessionById(id: string): Promise<Session | undefined>;
  endSession(id: string): Promise<void>;
}

/**
 * The recordings index: segments and gaps. Every row names the node that holds its file (D40):
 * what a node does to its own files (recovery, retention, the disk quota) asks for its own rows
 * only; reading (listing, a segment, an export) sees every node's.
 */
export interface RecordingStore {
  /** Indexes a segment ffmpeg has just opened on `node` (state `writing`); resolves to its row id. */
  open(segment: {
    deviceId: string;
    node: string;
    startMs: number;
    path: string;
    videoCodec: string | null;
    audioCodec: string | null;
  }): Promise<number>;
  /** Indexes a finished file found on disk (startup recovery). */
  insertComplete(segment: Omit<Segment, 'id' | 'state'>): Promise<number>;
  finish(id: number, result: { endMs: number; durationMs: number; bytes: number }): Promise<void>;
  markMissing(id: number): Promise<void>;
  get(id: number): Promise<Segment | undefined>;
  /** `node`'s segment at `path` (relative to its recordings directory). */
  byPath(node: string, path: string): Promise<Segment | undefined>;
  /** Segments of a device overlapping [fromMs, toMs), oldest first, whichever node holds them. */
  between(deviceId: string, fromMs: number, toMs: number): Promise<Segment[]>;
  /** `node`'s segments in a state. */
  inState(state: SegmentState, node: string): Promise<Segment[]>;
  all(): Promise<Segment[]>;
  /** `node`'s finished or missing segments of a device that ended before `beforeMs`. */
  expired(deviceId: string, beforeMs: number, node: string): Promise<Segment[]>;
  /** `node`'s oldest segments not being written, across devices. */
  oldest(limit: number, node: string): Promise<Segment[]>;
  /** Bytes of `node`'s segments: its disk quota is its own. */
  totalBytes(node: string): Promise<number>;
  delete(id: number): Promise<void>;
  /** Every device that has segments or gaps. */
  devices(): Promise<string[]>;
  lastEnd(deviceId: string): Promise<number | null>;
  openGap(deviceId: string, startMs: number, reason: GapReason, node: string): Promise<number>;
  insertGap(deviceId: string, startMs: number, endMs: number, reason: GapReason, node: string): Promise<void>;
  closeGap(id: number, endMs: number): Promise<void>;
  /** `node`'s gaps still open. */
  openGaps(node: string): Promise<Gap[]>;
  gapsBetween(deviceId: string, fromMs: number, toMs: number): Promise<Gap[]>;
  pruneGaps(deviceId: string, beforeMs: number): Promise<void>;
}

/** Bulk access for export and import (a registry moving from one store to another). */
export interface RegistryTransfer {
  /** Calls `each` for every row, in batches of bounded size; device and token hashes hex-encoded. */
  exportRows(each: (row: TransferRow) => Promise<void> | void): Promise<void>;
  /** Writes rows into an empty registry, keeping ids and hashes. Rejects with REGISTRY_NOT_EMPTY. */
  importRows(rows: AsyncIterable<TransferRow>, progress?: (count: number) => void): Promise<number>;
}

export type TransferRow =
  | { kind: 'device'; device: Device; secretHash: string }
  | { kind: 'token'; token: ApiToken; tokenHash: string }
  | { kind: 'user'; user: User; passwordHash: string; grants: Grant[] }
  | { kind: 'segment'; segment: Segment }
  | { kind: 'gap'; gap: Gap };

/** The registry: its stores, the device event watch, its lifetime. */
export interface Registry {
  readonly devices: DeviceStore;
  readonly tokens: TokenStore;
  readonly users: UserStore;
  readonly recordings: RecordingStore;
  readonly transfer: RegistryTransfer;
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Names the key secrets are hashed with, revealing nothing of it (an export carries it). */
  readonly keyFingerprint: string;
  /**
   * Calls `listener(deviceId)` whenever a device is added, rotated, revoked, deleted or its recording policy changes, by this
   * process or another one sharing the registry. Stops with the returned function or close(). `intervalMs`: how often
   * SQLite's event log is polled; PostgreSQL tells its watchers by NOTIFY instead (D29).
   */
  watchCredentials(listener: CredentialListener, intervalMs?: number): () => void;
  /**
   * Present only where the database answers synchronously (SQLite, one host): the parts that must
   * decide at once read the device's state here, exactly as it is now. Elsewhere (PostgreSQL) they
   * read ActiveDevices, kept fresh by device events.
   */
  readonly readNow?: { credentialState(id: string): CredentialState | undefined };
  /** Idempotent; stops watchers, waits for queries in flight, closes the database handle. */
  close(): Promise<void>;
}
