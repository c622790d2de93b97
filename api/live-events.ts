import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { RecordingActivity } from '../recordings/index.js';
import { type Principal, rightsKey, seesCamera } from './principal.js';
import { sseFrame, sseRetry } from './sse.js';

/** A device as the live stream names it (from the registry). */
export interface DeviceSummary {
  id: string;
  name: string;
  lastSeenAt: number | null;
  revoked: boolean;
}

/** Where the live state comes from (wired in cli/server.ts). */
export interface LiveSources {
  /** Every registered device. */
  devices(): DeviceSummary[] | Promise<DeviceSummary[]>;
  /** Whether the device has an MQTT session now (the broker's view, ahead of the registry's). */
  isOnline(id: string): boolean;
  /** Calls `listener` on every presence change; returns the unsubscribe. */
  onPresence(listener: (id: string, online: boolean) => void): () => void;
  recording(id: string): RecordingActivity;
}

export interface LiveEventLimits {
  heartbeatMs: number;
  maxPerToken: number;
  maxStreams: number;
  maxBufferedBytes: number;
}

/** The slice of an HTTP response a stream writes to (a ServerResponse; a Writable in tests). */
export interface EventSink {
  write(chunk: string): unknown;
  readonly writableLength: number;
  end(): unknown;
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}

export interface LiveEventDeps {
  sources: LiveSources;
  /** The principal a stream's key names now (undefined: revoked, removed, signed out). */
  principals: { current(key: string): Promise<Principal | undefined> };
  log: Logger;
  version: string;
  now?: () => number;
  /** How often recorder states and the device list are compared with the last ones sent. */
  sampleMs?: number;
  /** How often the tokens of open streams are checked ("revoked ends sessions within 1 s"). */
  tokenCheckMs?: number;
}

export type Admission =
  | { ok: true; attach(sink: EventSink): Promise<void> }
  | { ok: false; limit: 'token' | 'total' };

interface Stream {
  /** The principal's key (`t:<token id>`, `s:<session id>`). */
  tokenId: string;
  /** What it may see; undefined: every camera. Refreshed by the principal check. */
  principal: Principal | undefined;
  rightsKey: string;
  sink: EventSink | undefined;
  /** Events that came before the snapshot was written (sent after it, in order). */
  pending: string[] | undefined;
  closed: boolean;
}

/**
 * The live state of `GET /api/events` (docs/http-api.md): a snapshot per stream, then presence
 * changes as the broker reports them, recording activity and device-list changes as sampled
 * every `sampleMs`, a heartbeat, and `revoked` when a stream's token is revoked. Timers run
 * only while a stream is open. Bounded: streams per token and in all, bytes waiting per stream.
 */
export class LiveEventHub {
  readonly #limits: LiveEventLimits;
  readonly #deps: LiveEventDeps;
  readonly #now: () => number;
  readonly #warn: RateLimitedLog;
  readonly #streams = new Set<Stream>();
  readonly #perToken = new Map<string, number>();
  readonly #startedAt: string;
  readonly #unsubscribe: () => void;
  /** What was last sent: the device list (as a key) and each device's recording activity. */
  #listKey: string | undefined;
  readonly #recording = new Map<string, string>();
  #timers: NodeJS.Timeout[] = [];
  #sampling: Promise<void> | undefined;
  #closed = false;

  constructor(limits: LiveEventLimits, deps: LiveEventDeps) {
    this.#limits = limits;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#warn = new RateLimitedLog(deps.log, this.#now);
    this.#startedAt = new Date(this.#now()).toISOString();
    this.#unsubscribe = deps.sources.onPresence((id, online) =>
      this.#broadcast(sseFrame('presence', { id, online, at: this.#iso() }), id),
    );
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Counts a new stream of the principal `tokenId` against the bounds; `attach` then starts it on its
   * sink. With `principal`, the stream shows only the cameras it may see (D34).
   */
  admit(tokenId: string, principal?: Principal): Admission {
    const held = this.#perToken.get(tokenId) ?? 0;
    const limit =
      this.#closed || this.#streams.size >= this.#limits.maxStreams
        ? 'total'
        : held >= this.#limits.maxPerToken
          ? 'token'
          : undefined;
    if (limit) {
      this.#warn.warn(
        limit === 'token' ? `events-cap:${tokenId}` : 'events-cap:*',
        limit === 'token'
          ? { token: tokenId, limit: this.#limits.maxPerToken }
          : { open: this.#streams.size, limit: this.#limits.maxStreams },
        limit === 'token'
          ? 'event stream refused: too many open for this token'
          : 'event stream refused: too many open in all',
      );
      return { ok: false, limit };
    }
    const stream: Stream = {
      tokenId,
      principal,
      rightsKey: rightsKey(principal),
      sink: undefined,
      pending: [],
      closed: false,
    };
    this.#streams.add(stream);
    this.#perToken.set(tokenId, held + 1);
    if (this.#streams.size === 1) this.#startTimers();
    return { ok: true, attach: (sink) => this.#attach(stream, sink) };
  }

  /** Idempotent: ends every stream and stops the timers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const stream of [...this.#streams]) this.#end(stream, undefined);
    this.#stopTimers();
  }

  async #attach(stream: Stream, sink: EventSink): Promise<void> {
    stream.sink = sink;
    sink.once('close', () => this.#remove(stream));
    this.#write(stream, sseRetry(1000));
    try {
      const snapshot = await this.#snapshot(stream.principal);
      if (stream.closed) return;
      const pending = stream.pending ?? [];
      stream.pending = undefined;
      this.#write(stream, snapshot);
      for (const frame of pending) this.#write(stream, frame);
    } catch (err) {
      this.#deps.log.error({ err }, 'event stream: cannot read the device list');
      this.#end(stream, undefined);
    }
  }

  async #snapshot(principal: Principal | undefined): Promise<string> {
    const devices = (await this.#deps.sources.devices()).filter(
      (d) => !principal || seesCamera(principal, d.id),
    );
    return sseFrame('snapshot', {
      server: { version: this.#deps.version, startedAt: this.#startedAt },
      heartbeatMs: this.#limits.heartbeatMs,
      at: this.#iso(),
      devices: devices.map((d) => ({
        id: d.id,
        name: d.name,
        online: this.#deps.sources.isOnline(d.id),
        lastSeenAt: d.lastSeenAt === null ? null : new Date(d.lastSeenAt).toISOString(),
        revoked: d.revoked,
        recording: this.#deps.sources.recording(d.id),
      })),
    });
  }

  /** Compares the device list and recording activity with what was sent; sends what changed. */
  #sample(): Promise<void> {
    this.#sampling ??= (async () => {
      try {
        const devices = await this.#deps.sources.devices();
        const key = JSON.stringify(devices.map((d) => [d.id, d.name, d.revoked]));
        const listChanged = this.#listKey !== undefined && key !== this.#listKey;
        this.#listKey = key;
        const at = this.#iso();
        const changes: Array<[string, string]> = [];
        for (const d of devices) {
          const activity = this.#deps.sources.recording(d.id);
          const json = JSON.stringify(activity);
          const before = this.#recording.get(d.id);
          this.#recording.set(d.id, json);
          if (before !== undefined && before !== json)
            changes.push([d.id, sseFrame('recording', { id: d.id, ...activity, at })]);
        }
        for (const id of this.#recording.keys())
          if (!devices.some((d) => d.id === id)) this.#recording.delete(id);
        if (listChanged) for (const stream of [...this.#streams]) await this.#resend(stream);
        for (const [id, frame] of changes) this.#broadcast(frame, id);
      } catch (err) {
        this.#warn.warn(
          'events-sample',
          { err: (err as Error).message },
          'event stream: cannot sample the live state',
        );
      } finally {
        this.#sampling = undefined;
      }
    })();
    return this.#sampling;
  }

  /** A fresh snapshot for one stream (the device list or its rights changed). */
  async #resend(stream: Stream): Promise<void> {
    if (stream.pending || stream.closed) return; // its first snapshot is still coming
    this.#write(stream, await this.#snapshot(stream.principal));
  }

  /**
   * Ends the streams of principals no longer there (a revoked token, a removed user, a
   * session signed out), with a `revoked` event; a stream whose rights changed gets a
   * fresh snapshot of what it may see now.
   */
  async #checkTokens(): Promise<void> {
    const ids = new Set([...this.#streams].map((s) => s.tokenId));
    for (const id of ids) {
      let now: Principal | undefined;
      try {
        now = await this.#deps.principals.current(id);
      } catch {
        continue; // the next check tries again
      }
      const streams = [...this.#streams].filter((s) => s.tokenId === id);
      if (now) {
        const key = rightsKey(now);
        for (const stream of streams) {
          if (!stream.principal || stream.rightsKey === key) continue;
          stream.principal = now;
          stream.rightsKey = key;
          await this.#resend(stream).catch(() => undefined);
        }
        continue;
      }
      const frame = sseFrame('revoked', { reason: 'token-revoked', at: this.#iso() });
      for (const stream of streams) this.#end(stream, frame);
      this.#deps.log.info({ principal: id }, 'event streams ended: token revoked or session ended');
    }
  }

  /** Sends `frame` to every stream (that may see `camera`, when given). */
  #broadcast(frame: string, camera?: string): void {
    for (const stream of [...this.#streams]) {
      if (camera !== undefined && stream.principal && !seesCamera(stream.principal, camera)) continue;
      this.#write(stream, frame);
    }
  }

  #write(stream: Stream, frame: string): void {
    if (stream.closed) return;
    if (stream.pending) {
      stream.pending.push(frame);
      if (stream.pending.length <= 1000) return;
    } else if (stream.sink) {
      stream.sink.write(frame);
      if (stream.sink.writableLength <= this.#limits.maxBufferedBytes) return;
    } else return;
    // A client that does not read: closing it bounds memory; it reconnects to a fresh snapshot.
    this.#warn.warn(
      `events-slow:${stream.tokenId}`,
      { token: stream.tokenId, limit: this.#limits.maxBufferedBytes },
      'event stream closed: the client does not read',
    );
    stream.sink?.destroy();
    this.#remove(stream);
  }

  #end(stream: Stream, lastFrame: string | undefined): void {
    if (stream.closed) return;
    if (lastFrame && stream.sink) stream.sink.write(lastFrame);
    stream.sink?.end();
    this.#remove(stream);
  }

  #remove(stream: Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream);
    const held = (this.#perToken.get(stream.tokenId) ?? 1) - 1;
    if (held > 0) this.#perToken.set(stream.tokenId, held);
    else this.#perToken.delete(stream.tokenId);
    if (this.#streams.size === 0) this.#stopTimers();
  }

  #startTimers(): void {
    const every = (ms: number, run: () => unknown) => {
      const timer = setInterval(run, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.#limits.heartbeatMs, () => this.#broadcast(sseFrame('heartbeat', { at: this.#iso() })));
    every(this.#deps.sampleMs ?? 500, () => this.#sample());
    every(this.#deps.tokenCheckMs ?? 250, () => this.#checkTokens());
    void this.#sample(); // the baseline later samples compare with
  }

  #stopTimers(): void {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    this.#listKey = undefined;
    this.#recording.clear();
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}
