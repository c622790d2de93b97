import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import type { RecordingStore, Segment } from '../devices/index.js';
import { thumbnailPath } from './thumbnail.js';

export interface RetentionPolicy {
  /** Global maximum age in hours, and a per-device override (undefined: global). */
  maxAgeHours: number;
  maxAgeHoursFor(deviceId: string): Promise<number | null | undefined>;
  maxDiskBytes: number;
}

/**
 * Deletes what the policy no longer keeps of this node's recordings: per device, segments older than its maximum
 * age; then, oldest first across devices, segments until the archive fits the quota.
 * Never the segment being written. Each deletion is logged with its reason.
 */
export async function applyRetention(options: {
  store: RecordingStore;
  dir: string;
  policy: RetentionPolicy;
  /** This node: retention deletes only the files on its own disk, its quota is its own (D40). */
  node: string;
  now: number;
  log: Logger;
}): Promise<{ deleted: number; freedBytes: number }> {
  const { store, policy, now, log, node } = options;
  let deleted = 0;
  let freedBytes = 0;
  // Files that would not go (a directory in their place, a read-only mount): skipped, so one
  // of them cannot stop retention for all the others.
  const failed = new Set<number>();
  const remove = async (segment: Segment, reason: string): Promise<boolean> => {
    try {
      rmSync(path.join(options.dir, segment.path), { force: true });
      rmSync(thumbnailPath(path.join(options.dir, segment.path)), { force: true });
    } catch (err) {
      failed.add(segment.id);
      log.error({ err, device: segment.deviceId, file: segment.path, reason }, 'cannot delete a recording');
      return false;
    }
    await store.delete(segment.id);
    deleted++;
    freedBytes += segment.bytes;
    log.info(
      {
        device: segment.deviceId,
        file: segment.path,
        bytes: segment.bytes,
        start: new Date(segment.startMs).toISOString(),
        reason,
      },
      'recording deleted',
    );
    return true;
  };
  for (const deviceId of await store.devices()) {
    const hours = (await policy.maxAgeHoursFor(deviceId)) ?? policy.maxAgeHours;
    const cutoff = now - hours * 3_600_000;
    for (const segment of await store.expired(deviceId, cutoff, node))
      await remove(segment, `older than ${hours} h`);
    await store.pruneGaps(deviceId, cutoff);
  }
  let total = await store.totalBytes(node);
  while (total > policy.maxDiskBytes) {
    const batch = (await store.oldest(50 + failed.size, node)).filter((segment) => !failed.has(segment.id));
    if (batch.length === 0) break;
    for (const segment of batch) {
      if (total <= policy.maxDiskBytes) break;
      if (await remove(segment, `over the disk quota (${Math.round(policy.maxDiskBytes / 1_048_576)} MiB)`))
        total -= segment.bytes;
    }
  }
  return { deleted, freedBytes };
}
