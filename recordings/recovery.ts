import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import path from 'node:path';
import { hasCode, LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { isDeviceId, type RecordingStore, type Segment } from '../devices/index.js';
import { isDiskFullError } from './disk-space.js';
import { probeFile } from './ffmpeg.js';
import { playableLength } from './fmp4.js';

/** Dot-named, like `.exports`: device ids cannot start with a dot, so no camera's folder collides. */
export const QUARANTINE_DIR = '.quarantine';

/** Recorded files are `<device id>/<name>.mp4` with plain names (they go into ffmpeg concat lists). */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.mp4$/;

/**
 * Cuts a crash-truncated fragmented MP4 after its last whole fragment. Returns the new
 * size (0: nothing in it plays).
 */
export function trimToPlayable(file: string): { size: number } {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  let playable: number;
  try {
    const read = (offset: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const count = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, count);
    };
    playable = playableLength(size, read);
  } finally {
    closeSync(fd);
  }
  if (playable > 0 && playable < size) truncateSync(file, playable);
  return { size: playable };
}

function quarantine(dir: string, relative: string, log: Logger, reason: string): void {
  const target = path.join(dir, QUARANTINE_DIR, relative);
  mkdirSync(path.dirname(target), { recursive: true });
  renameSync(path.join(dir, relative), target);
  log.warn({ file: relative, quarantined: target, reason }, 'recording moved to quarantine');
}

/**
 * Makes an interrupted segment's row true again: its file trimmed to the last whole
 * fragment and indexed with its real, probed duration; moved to quarantine when nothing
 * in it plays; the row dropped when ffmpeg never created the file.
 */
export async function recoverSegment(
  store: RecordingStore,
  dir: string,
  row: Segment,
  log: Logger,
): Promise<void> {
  const file = path.join(dir, row.path);
  if (!existsSync(file)) {
    if (row.state === 'writing') await store.delete(row.id);
    else await store.markMissing(row.id);
    return;
  }
  try {
    const { size } = trimToPlayable(file);
    if (size === 0 && row.state === 'writing') {
      // Ours, and ffmpeg had not finished a single fragment in it: nothing was recorded.
      await store.delete(row.id);
      rmSync(file, { force: true });
      log.info({ file: row.path }, 'removed an empty segment');
      return;
    }
    if (size === 0) throw new Error('no complete fragment');
    const probe = await probeFile(file);
    if (probe.durationSeconds <= 0 && row.state === 'writing') {
      await store.delete(row.id);
      rmSync(file, { force: true });
      log.info({ file: row.path }, 'removed an empty segment');
      return;
    }
    if (probe.durationSeconds <= 0) throw new Error('no media');
    const durationMs = Math.round(probe.durationSeconds * 1000);
    await store.finish(row.id, { endMs: row.startMs + durationMs, durationMs, bytes: size });
    log.info({ file: row.path, durationMs, bytes: size }, 'recovered an interrupted segment');
  } catch (err) {
    // A full disk or an unreachable registry (the index write failed) says nothing about
    // the file: retried later.
    if (isMissingTool(err) || isDiskFullError(err) || hasCode(err, 'REGISTRY_UNAVAILABLE')) throw err;
    await store.delete(row.id);
    quarantine(dir, row.path, log, (err as Error).message);
  }
}

/** ffprobe is not installed: a reason to stop, not a verdict on the file. */
function isMissingTool(err: unknown): boolean {
  return err instanceof LookoutError && (err.code === 'FFPROBE_NOT_FOUND' || err.code === 'FFMPEG_NOT_FOUND');
}

/**
 * Startup recovery after a crash or kill, of this node's recordings only (in a cluster the index
 * holds every node's; D40): every segment left `writing` is recovered;
 * rows whose file vanished are marked `missing`; `.mp4` files the index does not know are
 * probed and indexed, or quarantined; gaps left open are closed and the downtime is
 * recorded as a `server-down` gap (a `server-stopped` gap, left by a clean shutdown, just
 * lasts until now). Returns counts for the log.
 */
export async function recoverRecordings(options: {
  store: RecordingStore;
  dir: string;
  /** This node: only its rows are recovered, its files adopted under its name (D40). */
  node: string;
  log: Logger;
  now: number;
}): Promise<{ recovered: number; missing: number; adopted: number; quarantined: number }> {
  const { store, dir, log, node } = options;
  const counts = { recovered: 0, missing: 0, adopted: 0, quarantined: 0 };
  const interrupted = new Map<string, number>();
  for (const row of await store.inState('writing', node)) {
    await recoverSegment(store, dir, row, log);
    counts.recovered++;
    const end = (await store.get(row.id))?.endMs ?? row.startMs;
    interrupted.set(row.deviceId, Math.max(interrupted.get(row.deviceId) ?? 0, end));
  }
  for (const row of await store.inState('complete', node)) {
    if (!existsSync(path.join(dir, row.path))) {
      await store.markMissing(row.id);
      counts.missing++;
      log.warn({ file: row.path }, 'indexed recording is missing on disk');
    }
  }
  const files = listMp4(dir);
  for (const relative of files.unsafe) {
    quarantine(dir, relative, log, 'not a name Lookout writes (letters, digits, ., _ and - only)');
    counts.quarantined++;
  }
  for (const relative of files.found) {
    if (await store.byPath(node, relative)) continue;
    const file = path.join(dir, relative);
    try {
      const { size } = trimToPlayable(file);
      if (size === 0) throw new Error('no complete fragment');
      const probe = await probeFile(file);
      if (probe.durationSeconds <= 0) throw new Error('no media');
      const durationMs = Math.round(probe.durationSeconds * 1000);
      const endMs = Math.round(statSync(file).mtimeMs);
      await store.insertComplete({
        deviceId: relative.split('/')[0]!,
        startMs: endMs - durationMs,
        endMs,
        durationMs,
        bytes: size,
        videoCodec: probe.videoCodec,
        audioCodec: probe.audioCodec,
        path: relative,
        node,
      });
      counts.adopted++;
      log.info({ file: relative, durationMs }, 'indexed a recording found on disk');
    } catch (err) {
      if (isMissingTool(err)) throw err;
      quarantine(dir, relative, log, (err as Error).message);
      counts.quarantined++;
    }
  }
  for (const gap of await store.openGaps(node)) {
    if (gap.reason === 'server-stopped') {
      // A clean shutdown left it open: it lasts until now, this start.
      await store.closeGap(gap.id, options.now);
      continue;
    }
    const end = Math.max(gap.startMs, (await store.lastEnd(gap.deviceId)) ?? gap.startMs);
    await store.closeGap(gap.id, end);
    interrupted.set(gap.deviceId, Math.max(interrupted.get(gap.deviceId) ?? 0, end));
  }
  for (const [deviceId, since] of interrupted) {
    if (since < options.now) await store.insertGap(deviceId, since, options.now, 'server-down', node);
  }
  return counts;
}

/**
 * `<device>/<file>.mp4` paths under `dir` in camera folders (named as device ids; the
 * dot-named `.quarantine` and `.exports` are not). Files with other names are reported
 * in `unsafe`, to be quarantined rather than indexed.
 */
function listMp4(dir: string): { found: string[]; unsafe: string[] } {
  const found: string[] = [];
  const unsafe: string[] = [];
  if (!existsSync(dir)) return { found, unsafe };
  for (const device of readdirSync(dir, { withFileTypes: true })) {
    if (!device.isDirectory() || !isDeviceId(device.name)) continue;
    for (const entry of readdirSync(path.join(dir, device.name), { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.mp4')) continue;
      (FILE_NAME.test(entry.name) ? found : unsafe).push(`${device.name}/${entry.name}`);
    }
  }
  return { found, unsafe };
}
