import { rmSync } from 'node:fs';
import path from 'node:path';
import type { RecordingConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { type Device, type RecordingStore, type Segment, wantsRecording } from '../devices/index.js';
import { type RecordingActivity, recordingActivity } from './activity.js';
import { Archive } from './archive.js';
import type { ArchivePeers } from './archive-peers.js';
import { type RecordedStream, Recorder } from './recorder.js';
import { RECORDER_FAULTS, RECORDER_STATES, type RecorderFault, type State } from './recorder-types.js';
import { recoverRecordings } from './recovery.js';
import { applyRetention } from './retention.js';

/** What the recording service reports for metrics. */
export interface RecordingStats {
  /** Recorders by state now (every state present). */
  recorders: Record<State['kind'], number>;
  /** Faults since the server started, by reason (every reason present). */
  faults: Record<RecorderFault, number>;
}

export interface RecordingDeps {
  store: RecordingStore;
  devices: { get(id: string): Promise<Device | undefined>; list(): Promise<Device[]> };
  streams: { feed(deviceId: string): RecordedStream };
  /**
   * In a cluster: whether this node holds the camera (its lease, D39). A camera is recorded only
   * where it is held; absent (a single host), everywhere its policy says.
   */
  holds?: (deviceId: string) => boolean;
  /** This node's id: the index names it as the holder of what it records; recovery and retention touch only its files (D40). */
  node: string;
  /** The cluster's other nodes, whose recordings the archive reads through them (none on a single host). */
  peers?: ArchivePeers;
  log: Logger;
  now?: () => number;
}

/**
 * Recording in a running server: one Recorder per camera whose policy says so, startup
 * recovery, retention on a timer and after every finished segment, and the Archive for
 * reading. Owns its recorders (and so every recording ffmpeg) and closes them.
 */
export class RecordingService {
  readonly archive: Archive;
  readonly #recorders = new Map<string, Recorder>();
  /** Cameras whose policy says record (recorded here or, in a cluster, on the node holding them). */
  readonly #wanted = new Set<string>();
  /** Recorders turned off and still finishing their segment; close() waits for them. */
  readonly #stopping = new Set<Promise<void>>();
  readonly #log: Logger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #retentionQueued = false;
  readonly #faults = Object.fromEntries(RECORDER_FAULTS.map((r) => [r, 0])) as Record<RecorderFault, number>;
  #retention: Promise<void> | undefined;
  /** Per device, the refresh in progress: refreshes of one device run one after the other. */
  readonly #refreshes = new Map<string, Promise<void>>();

  private constructor(
    private readonly config: RecordingConfig & { dir: string },
    private readonly deps: RecordingDeps,
  ) {
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.archive = new Archive(deps.store, config.dir, {
      node: deps.node,
      ...(deps.peers ? { peers: deps.peers } : {}),
    });
  }

  /** Recovers what a crash left, then starts recording every camera whose policy says so. */
  static async start(
    config: RecordingConfig & { dir: string },
    deps: RecordingDeps,
  ): Promise<RecordingService> {
    const service = new RecordingService(config, deps);
    service.archive.clearExports();
    const counts = await recoverRecordings({
      store: deps.store,
      dir: config.dir,
      node: deps.node,
      log: deps.log,
      now: service.#now(),
    });
    if (counts.recovered + counts.missing + counts.adopted + counts.quarantined > 0) {
      deps.log.warn(counts, 'recordings recovered after an unclean stop');
    }
    void service.runRetention();
    service.#timer = setInterval(() => void service.runRetention(), config.retentionIntervalMs);
    service.#timer.unref();
    await Promise.all((await deps.devices.list()).map((device) => service.refresh(device.id)));
    return service;
  }

  /**
   * Starts or stops a camera's recorder to match its policy (call after any change). The
   * refreshes of one device run in order, so the last change wins. Never rejects: a
   * registry that cannot be read is logged and the recorder left as it is.
   */
  refresh(deviceId: string): Promise<void> {
    const previous = this.#refreshes.get(deviceId) ?? Promise.resolve();
    const next = previous.then(() => this.#refresh(deviceId));
    this.#refreshes.set(deviceId, next);
    void next.finally(() => {
      if (this.#refreshes.get(deviceId) === next) this.#refreshes.delete(deviceId);
    });
    return next;
  }

  async #refresh(deviceId: string): Promise<void> {
    if (this.#closing) return;
    let device: Device | undefined;
    try {
      device = await this.deps.devices.get(deviceId);
    } catch (err) {
      this.#log.error({ err, device: deviceId }, 'could not read the recording policy from the registry');
      return;
    }
    if (this.#closing) return;
    const recorded = device !== undefined && device.revokedAt === null && wantsRecording(device.recording);
    if (recorded) this.#wanted.add(deviceId);
    else this.#wanted.delete(deviceId);
    const wanted = recorded && (this.deps.holds?.(deviceId) ?? true);
    const recorder = this.#recorders.get(deviceId);
    if (wanted && !recorder) {
      this.#recorders.set(
        deviceId,
        new Recorder(this.deps.streams.feed(deviceId), {
          deviceId,
          dir: this.config.dir,
          segmentSeconds: this.config.segmentSeconds,
          fragmentMs: this.config.fragmentMs,
          store: this.deps.store,
          node: this.deps.node,
          log: this.#log.child({ device: deviceId }),
          onSegment: () => this.#queueRetention(),
          onFault: (reason) => {
            this.#faults[reason]++;
          },
          now: this.#now,
          disk: {
            minFreeBytes: this.config.minFreeMb * 1_048_576,
            resumeFreeBytes: 2 * this.config.minFreeMb * 1_048_576,
          },
        }),
      );
    } else if (!wanted && recorder) {
      this.#recorders.delete(deviceId);
      const stopped = recorder
        .close()
        .catch((err) => this.#log.error({ err, device: deviceId }, 'could not stop recorder'))
        .finally(() => this.#stopping.delete(stopped));
      this.#stopping.add(stopped);
    }
  }

  /**
   * A device was deleted (DeviceStore.delete): stops its recorder and waits for ffmpeg to finish.
   * `removed`: the segments whose index rows went with the device (recordings deleted); their files
   * are deleted now, with any segment the recorder indexed between the delete and its stop. Without
   * it the recordings stay, listable under the id until retention removes them. Never rejects.
   */
  async deviceDeleted(deviceId: string, removed?: readonly Segment[]): Promise<void> {
    await this.refresh(deviceId);
    await Promise.all(this.#stopping);
    if (!removed) return;
    try {
      const late = await this.deps.store.between(deviceId, 0, Number.MAX_SAFE_INTEGER);
      for (const segment of late) await this.deps.store.delete(segment.id);
      await this.deps.store.pruneGaps(deviceId, Number.MAX_SAFE_INTEGER);
      let bytes = 0;
      for (const segment of [...removed, ...late]) {
        // Another node's files stay there (D40): its next start adopts them, its retention ends them.
        if (segment.node !== this.deps.node) continue;
        rmSync(path.join(this.config.dir, segment.path), { force: true });
        bytes += segment.bytes;
      }
      // And the camera's directory, with what ffmpeg left beside the segments (SDP files).
      rmSync(path.join(this.config.dir, deviceId), { recursive: true, force: true });
      this.#log.info(
        { device: deviceId, files: removed.length + late.length, bytes },
        'deleted the recordings of a deleted device',
      );
    } catch (err) {
      this.#log.error({ err, device: deviceId }, 'could not delete the recordings of a deleted device');
    }
  }

  /** Cameras whose policy says record, wherever they are recorded (the cluster places them, D39). */
  wantedCameras(): ReadonlySet<string> {
    return this.#wanted;
  }

  /** How many cameras are being recorded now. */
  get recordingCount(): number {
    return this.#recorders.size;
  }

  stats(): RecordingStats {
    const recorders = Object.fromEntries(RECORDER_STATES.map((s) => [s, 0])) as RecordingStats['recorders'];
    for (const recorder of this.#recorders.values()) recorders[recorder.state]++;
    return { recorders, faults: { ...this.#faults } };
  }

  /** The camera's recorder, if it is being recorded. */
  recorder(deviceId: string): Recorder | undefined {
    return this.#recorders.get(deviceId);
  }

  /** What the camera's recording is doing now (activity.ts). */
  activity(deviceId: string): RecordingActivity {
    return recordingActivity(this.#recorders.get(deviceId)?.state);
  }

  /** Applies retention now (one run at a time: a run asked for during one joins it). Never rejects. */
  runRetention(): Promise<void> {
    this.#retention ??= this.#runRetention().finally(() => {
      this.#retention = undefined;
    });
    return this.#retention;
  }

  async #runRetention(): Promise<void> {
    try {
      await applyRetention({
        store: this.deps.store,
        dir: this.config.dir,
        node: this.deps.node,
        now: this.#now(),
        log: this.#log,
        policy: {
          maxAgeHours: this.config.maxAgeHours,
          maxAgeHoursFor: async (id) => (await this.deps.devices.get(id))?.recording.maxAgeHours,
          maxDiskBytes: this.config.maxDiskMb * 1_048_576,
        },
      });
    } catch (err) {
      this.#log.error({ err }, 'retention failed');
    }
  }

  #queueRetention(): void {
    if (this.#retentionQueued) return;
    this.#retentionQueued = true;
    setImmediate(() => {
      this.#retentionQueued = false;
      if (!this.#closing) void this.runRetention();
    });
  }

  /**
   * Stops every recorder (each ffmpeg finishes its segment) and leaves a `server-stopped` gap
   * open for each, which the next start closes: a clean shutdown is not a blank hole in the
   * timeline (issue 9, item 7). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      // Refreshes in flight finish first (they see #closing and start nothing new).
      await Promise.all([...this.#refreshes.values(), this.#retention]);
      const recorders = [...this.#recorders.values()];
      this.#recorders.clear();
      await Promise.all([...recorders.map((r) => r.close({ gap: 'server-stopped' })), ...this.#stopping]);
    })();
    return this.#closing;
  }
}
