import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { LookoutError } from '../core/errors.js';
import { isProcessRunning } from '../core/pid.js';
import type { Gap, RecordingStore, Segment } from '../devices/index.js';
import type { ArchivePeers } from './archive-peers.js';
import { concatList, type ExportPlan, planExport } from './export-plan.js';
import { planSources, type SourceLimits } from './export-sources.js';
import { probeFile, remuxConcat } from './ffmpeg.js';
import { trimToPlayable } from './recovery.js';
import { fetchRemoteParts } from './remote-fetch.js';

export const EXPORTS_DIR = '.exports';
const MAX_RANGE_MS = 24 * 3_600_000;
const SOURCE_LIMITS: SourceLimits = {
  maxWritingBytes: 1024 * 1_048_576,
  maxRemoteBytes: 16 * 1024 * 1_048_576,
};

export interface ArchiveOptions {
  /** This node's id: segments the index names it for are on this disk, the others on their node's (D40). */
  node: string;
  /** The other nodes of a cluster, where their segments are read from; none on a single host. */
  peers?: ArchivePeers;
  concurrentExports?: number;
  sourceLimits?: SourceLimits;
}

/** An export's plan and the nodes whose segments it had to leave out (not in the cluster). */
export type ExportResult = ExportPlan & { unavailableNodes: string[] };

/**
 * Reading the archive: what is recorded when, one segment's file, and a time range as one
 * MP4. Works on a data directory whether or not a server is running (the CLI uses it). In a
 * cluster the index lists every node's segments; an export fetches the other nodes' (D40).
 */
export class Archive {
  #exporting = 0;
  readonly node: string;
  readonly peers: ArchivePeers | undefined;
  readonly #options: ArchiveOptions;

  constructor(
    readonly store: RecordingStore,
    readonly dir: string,
    options: ArchiveOptions,
  ) {
    this.node = options.node;
    this.peers = options.peers;
    this.#options = options;
  }

  /**
   * Segments and gaps of a device overlapping [fromMs, toMs). The segment being written
   * shows its size on disk so far (the index learns its size when it is finished).
   */
  async list(deviceId: string, fromMs: number, toMs: number): Promise<{ segments: Segment[]; gaps: Gap[] }> {
    return {
      segments: (await this.store.between(deviceId, fromMs, toMs)).map((segment) => {
        if (segment.state !== 'writing' || segment.node !== this.node) return segment;
        try {
          return { ...segment, bytes: statSync(path.join(this.dir, segment.path)).size };
        } catch {
          return segment;
        }
      }),
      gaps: await this.store.gapsBetween(deviceId, fromMs, toMs),
    };
  }

  /**
   * A finished segment of a device, on whichever node. Throws SEGMENT_NOT_FOUND, and
   * SEGMENT_WRITING for the one being written (its end is not a whole fragment yet: export the
   * range instead).
   */
  async segment(deviceId: string, id: number): Promise<Segment> {
    const segment = await this.store.get(id);
    if (!segment || segment.deviceId !== deviceId || segment.state === 'missing') {
      throw new LookoutError('SEGMENT_NOT_FOUND', `device '${deviceId}' has no recorded segment ${id}`);
    }
    if (segment.state === 'writing') {
      throw new LookoutError(
        'SEGMENT_WRITING',
        `segment ${id} is still being written; export its time range to get what it holds so far`,
      );
    }
    return segment;
  }

  /** A finished segment on this node's disk and its file (the other nodes' are read through theirs). */
  async segmentFile(deviceId: string, id: number): Promise<{ segment: Segment; file: string; size: number }> {
    return this.localFile(await this.segment(deviceId, id));
  }

  /** The file of a segment indexed for this node. SEGMENT_NOT_FOUND when its file is gone or elsewhere. */
  localFile(segment: Segment): { segment: Segment; file: string; size: number } {
    const { id } = segment;
    if (segment.node !== this.node) {
      throw new LookoutError('SEGMENT_NOT_FOUND', `segment ${id} is on node '${segment.node}', not here`);
    }
    const file = path.join(this.dir, segment.path);
    try {
      return { segment, file, size: statSync(file).size };
    } catch {
      throw new LookoutError('SEGMENT_NOT_FOUND', `segment ${id} is indexed but its file is gone`);
    }
  }

  /**
   * Writes [fromMs, toMs) of a device as one MP4 at `output`, stitched without
   * re-encoding. It starts at the keyframe at or before `fromMs` (within one keyframe
   * interval). The segment being written counts up to its last whole fragment (about a
   * second ago). Throws RANGE_TOO_LONG, NO_RECORDINGS, and EXPORT_BUSY when too many
   * exports run at once. `onProgress` first reports (0, total) once the plan is known. Segments on
   * other nodes are fetched first (D40); those of nodes not in the cluster are left out (named in
   * `unavailableNodes`), NODE_UNAVAILABLE when nothing else is left. `signal` abandons the fetches.
   */
  async export(
    deviceId: string,
    fromMs: number,
    toMs: number,
    output: string,
    onProgress?: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<ExportResult> {
    if (toMs - fromMs > MAX_RANGE_MS) {
      throw new LookoutError('RANGE_TOO_LONG', 'export at most 24 hours at once');
    }
    if (this.#exporting >= (this.#options.concurrentExports ?? 2)) {
      throw new LookoutError('EXPORT_BUSY', 'too many exports are running; try again shortly');
    }
    this.#exporting++;
    /** Links and copies made for this export, and its list: removed at the end. */
    const scratchFiles: string[] = [];
    let scratchDir: string | undefined;
    try {
      scratchDir = this.#scratchDir();
      const scratch = path.join(scratchDir, randomBytes(8).toString('hex'));
      const rows = await this.store.between(deviceId, fromMs, toMs);
      const limits = this.#options.sourceLimits ?? SOURCE_LIMITS;
      const sources = planSources(rows, this.node, await this.#nodeUrls(rows), limits);
      const fetched = this.peers
        ? await fetchRemoteParts(
            this.peers,
            sources.remote,
            (segment) => `${scratch}-${segment.id}.mp4`,
            scratchFiles,
            signal,
          )
        : [];
      const segments = await Promise.all([
        ...sources.local.map((segment) =>
          segment.state === 'writing'
            ? this.#snapshot(segment, scratch, scratchFiles)
            : this.#pin(segment, scratch, scratchFiles),
        ),
        ...fetched.map(({ segment, file }) =>
          segment.state === 'writing'
            ? this.#playable(segment, file)
            : { ...segment, path: path.relative(this.dir, file) },
        ),
      ]);
      const plan = planExport(
        segments.filter((segment) => segment !== undefined),
        fromMs,
        toMs,
      );
      onProgress?.(0, plan.seconds);
      const list = `${scratch}.ffconcat`;
      scratchFiles.push(list);
      writeFileSync(
        list,
        concatList(plan, (relative) => path.join(this.dir, relative)),
      );
      await remuxConcat(list, output, (seconds) =>
        onProgress?.(Math.min(seconds, plan.seconds), plan.seconds),
      );
      onProgress?.(plan.seconds, plan.seconds);
      return { ...plan, unavailableNodes: sources.unavailable };
    } finally {
      this.#exporting--;
      for (const file of scratchFiles) rmSync(file, { force: true });
      try {
        if (scratchDir) rmdirSync(scratchDir); // once this process has no export left in it
      } catch {
        // another export (or a served one) still uses it
      }
    }
  }

  /**
   * A hard link to a finished segment's file beside the export, so retention deleting the
   * original while ffmpeg reads the list cannot break the export. Undefined when the file
   * is gone already; the original itself where links cannot be made (another filesystem).
   */
  #pin(segment: Segment, scratch: string, created: string[]): Segment | undefined {
    if (segment.state !== 'complete') return segment;
    const link = `${scratch}-${segment.id}.mp4`;
    try {
      linkSync(path.join(this.dir, segment.path), link);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : segment;
    }
    created.push(link);
    return { ...segment, path: path.relative(this.dir, link) };
  }

  /**
   * A copy of a segment ffmpeg is still writing, cut after its last whole fragment, as a
   * complete segment with its probed duration; undefined when nothing in it plays yet.
   * The copy's path is pushed onto `created` for the caller to delete.
   */
  async #snapshot(segment: Segment, scratch: string, created: string[]): Promise<Segment | undefined> {
    const copy = `${scratch}-${segment.id}.mp4`;
    try {
      copyFileSync(path.join(this.dir, segment.path), copy);
    } catch {
      return undefined; // not created yet, or just finished and renamed by recovery
    }
    created.push(copy);
    return this.#playable(segment, copy);
  }

  /** A copy of a segment being written as a complete one, cut after its last whole fragment. */
  async #playable(segment: Segment, copy: string): Promise<Segment | undefined> {
    const { size } = trimToPlayable(copy);
    if (size === 0) return undefined;
    const { durationSeconds } = await probeFile(copy);
    if (durationSeconds <= 0) return undefined;
    const durationMs = Math.round(durationSeconds * 1000);
    return {
      ...segment,
      path: path.relative(this.dir, copy),
      state: 'complete',
      endMs: segment.startMs + durationMs,
      durationMs,
      bytes: size,
    };
  }

  /** The URL of every other node holding one of `segments` (undefined: not in the cluster, or no peers). */
  async #nodeUrls(segments: readonly Segment[]): Promise<Map<string, string | undefined>> {
    const urls = new Map<string, string | undefined>();
    for (const segment of segments) {
      if (segment.node === this.node || urls.has(segment.node)) continue;
      urls.set(segment.node, segment.node ? await this.peers?.nodeUrl(segment.node) : undefined);
    }
    return urls;
  }

  /**
   * A copy of this node's segment being written, for another node exporting it (which cuts it to
   * its whole fragments); undefined when the file is not there. The caller deletes the copy.
   */
  copyForPeer(segment: Segment): string | undefined {
    const copy = path.join(this.#scratchDir(), `peer-${randomBytes(8).toString('hex')}.mp4`);
    try {
      copyFileSync(path.join(this.dir, segment.path), copy);
      return copy;
    } catch {
      rmSync(copy, { force: true });
      return undefined;
    }
  }

  /** A fresh path for a server-side export; the caller deletes it. */
  tempExportPath(): string {
    return path.join(this.#scratchDir(), `${randomBytes(8).toString('hex')}.mp4`);
  }

  /**
   * This process's scratch folder, `.exports/<pid>/`: a server clearing leftovers at start
   * must not take the files of a `recordings pull` running beside it in another process.
   */
  #scratchDir(): string {
    const dir = path.join(this.dir, EXPORTS_DIR, String(process.pid));
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Removes what exports of processes no longer running (a crash, kill -9) left behind. */
  clearExports(): void {
    const root = path.join(this.dir, EXPORTS_DIR);
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch {
      return;
    }
    for (const name of entries) {
      const pid = /^\d+$/.test(name) ? Number(name) : undefined;
      if (pid !== undefined && (pid === process.pid || isProcessRunning(pid))) continue;
      rmSync(path.join(root, name), { recursive: true, force: true });
    }
  }
}
