import { TokenBucket } from './token-bucket.js';

/** How many signaling messages the media node takes from devices (docs/signaling.md §Limits). */
export interface SignalLimits {
  /** Messages per second one device may send, sustained. */
  deviceRatePerSecond: number;
  /** Messages one device may send in a burst (bucket size). */
  deviceBurst: number;
  /** Messages per second from all devices together. */
  totalRatePerSecond: number;
  totalBurst: number;
}

export const DEFAULT_SIGNAL_LIMITS: SignalLimits = {
  deviceRatePerSecond: 20,
  deviceBurst: 40,
  totalRatePerSecond: 5000,
  totalBurst: 10_000,
};

/** Past this many device buckets, full (idle) ones are forgotten: memory stays bounded. */
const MAX_BUCKETS = 4096;

export type SignalVerdict = 'ok' | 'device-limit' | 'total-limit';

/**
 * Admission of device signaling messages, per device and overall, decided before a message
 * is even parsed (a flood costs one map lookup per message). Pure: time is passed in.
 */
export class SignalLimiter {
  readonly #devices = new Map<string, TokenBucket>();
  readonly #total: TokenBucket;

  constructor(
    private readonly limits: SignalLimits,
    now: number,
  ) {
    this.#total = new TokenBucket(limits.totalBurst, limits.totalRatePerSecond, now);
  }

  admit(deviceId: string, now: number): SignalVerdict {
    let bucket = this.#devices.get(deviceId);
    if (!bucket) {
      if (this.#devices.size >= MAX_BUCKETS) this.#forgetIdle(now);
      bucket = new TokenBucket(this.limits.deviceBurst, this.limits.deviceRatePerSecond, now);
      this.#devices.set(deviceId, bucket);
    }
    // The device's own bucket first: one flooding device must not drain the shared one.
    if (!bucket.take(now)) return 'device-limit';
    if (!this.#total.take(now)) return 'total-limit';
    return 'ok';
  }

  /** Number of devices with a bucket (for tests: bounded). */
  get trackedDevices(): number {
    return this.#devices.size;
  }

  #forgetIdle(now: number): void {
    for (const [id, bucket] of this.#devices) if (bucket.full(now)) this.#devices.delete(id);
    // Every device busy at once (more than MAX_BUCKETS): start over rather than grow.
    if (this.#devices.size >= MAX_BUCKETS) this.#devices.clear();
  }
}
