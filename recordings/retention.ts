import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import type { RecordingStore, Segment } from '../devices/index.js';

export interface RetentionPolicy {
  /** Global maximum age in hours, and a per-device override (undefined: global). */
  maxAgeHours: number;
  maxAgeHoursFor(deviceId: string): number | null | undefined;
  maxDiskBytes: number;
}

/**
 * Deletes what the policy no longer keeps: per device, segments older than its maximum
 * age; then, oldest first across devices, segments until the archive fits the quota.
 * Never the segment being written. Each deletion is logged with its reason.
 */
export function applyRetention(options: {
  store: RecordingStore;
  dir: string;
  policy: RetentionPolicy;
  now: number;
  log: Logger;
}): { deleted: number; freedBytes: number } {
  const { store, policy, now, log } = options;
  let deleted = 0;
  let freedBytes = 0;
  const remove = (segment: Segment, reason: string) => {
    rmSync(path.join(options.dir, segment.path), { force: true });
    store.delete(segment.id);
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
  };
  for (const deviceId of store.devices()) {
    const hours = policy.maxAgeHoursFor(deviceId) ?? policy.maxAgeHours;
    const cutoff = now - hours * 3_600_000;
    for (const segment of store.expired(deviceId, cutoff)) remove(segment, `older than ${hours} h`);
    store.pruneGaps(deviceId, cutoff);
  }
  let total = store.totalBytes();
  while (total > policy.maxDiskBytes) {
    const batch = store.oldest(50);
    if (batch.length === 0) break;
    for (const segment of batch) {
      if (total <= policy.maxDiskBytes) break;
      remove(segment, `over the disk quota (${Math.round(policy.maxDiskBytes / 1_048_576)} MiB)`);
      total -= segment.bytes;
    }
  }
  return { deleted, freedBytes };
}
