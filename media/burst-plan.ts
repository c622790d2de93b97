/**
 * How a keyframe-cache burst (media/keyframe-cache.ts) is sent to a new viewer: when each packet
 * goes out, and how its RTP timestamp is changed. Pure.
 *
 * Pacing: the first `headBytes` at once (most of a keyframe, so the first picture is not held
 * up), then `bytesPerMs`. A burst of megabytes written at once overflows the viewer's receive
 * buffer (in Chromium, 2-3 MB bursts lost 200-500 packets), and werift keeps only the last 128
 * packets for retransmission, so what is lost early in a big burst cannot be repaired (D26).
 *
 * Timestamps: the cached frames span seconds of camera time but are sent in milliseconds. Were
 * their timestamps left alone, the viewer's jitter buffer would play them at camera speed and stay
 * that far behind live for good. Each frame's timestamp is instead set back from the newest
 * cached frame's by the time between their planned sends: the burst plays as fast as it arrives,
 * arrival and timestamps agree (no false jitter), and the newest cached frame keeps its own
 * timestamp so live packets continue after it unchanged.
 */

export interface BurstPacing {
  /** Bytes sent at once when the burst starts. */
  headBytes: number;
  /** Then bytes per millisecond. */
  bytesPerMs: number;
}

/** 32 KiB at once, then 4 KiB/ms (32 Mbit/s: 4 MB in a second). Measured in bench:ttff's big-burst case (D26). */
export const BURST_PACING: BurstPacing = { headBytes: 32 * 1024, bytesPerMs: 4 * 1024 };

export interface PlannedPacket {
  /** Milliseconds after the burst starts at which the packet may be sent. */
  atMs: number;
  /** Ticks to add to the packet's (already continuity-mapped) timestamp; 0 for the newest frame. */
  timestampShift: number;
}

/**
 * The plan for packets in send order (`timestamp`: the camera's; `bytes`: as the cache counts
 * them). Packets of one frame share a timestamp and get the same shift.
 */
export function planBurst(
  packets: ReadonlyArray<{ timestamp: number; bytes: number }>,
  clockRate: number,
  pacing: BurstPacing = BURST_PACING,
): PlannedPacket[] {
  const atMs: number[] = [];
  /** Planned send time of the first packet of each packet's frame. */
  const frameAtMs: number[] = [];
  let sent = 0;
  for (let i = 0; i < packets.length; i++) {
    atMs.push(Math.max(0, sent - pacing.headBytes) / pacing.bytesPerMs);
    sent += packets[i]!.bytes;
    const sameFrame = i > 0 && packets[i]!.timestamp === packets[i - 1]!.timestamp;
    frameAtMs.push(sameFrame ? frameAtMs[i - 1]! : atMs[i]!);
  }
  if (packets.length === 0) return [];
  // Each frame's place behind the newest, in ticks: the send time between them, and at least one
  // tick more than the frame after it (two frames with one timestamp would be read as one).
  const behind = new Array<number>(packets.length);
  const newestAt = frameAtMs[packets.length - 1]!;
  for (let i = packets.length - 1; i >= 0; i--) {
    const next = i + 1 < packets.length ? behind[i + 1]! : 0;
    const wanted = Math.round(((newestAt - frameAtMs[i]!) * clockRate) / 1000);
    if (i + 1 < packets.length && packets[i]!.timestamp === packets[i + 1]!.timestamp) behind[i] = next;
    else behind[i] = i + 1 < packets.length ? Math.max(wanted, next + 1) : 0;
  }
  const newestTs = packets[packets.length - 1]!.timestamp;
  return packets.map((packet, i) => ({
    atMs: atMs[i]!,
    // Where it is behind the newest, as a signed 32-bit distance (wrap-around is harmless), less where it should be.
    timestampShift: ((newestTs - packet.timestamp) | 0) - behind[i]!,
  }));
}
