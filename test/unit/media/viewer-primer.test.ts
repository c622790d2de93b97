import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import type { MediaKind } from '../../../media/upstream-peer.js';
import { type PrimerTimers, ViewerPrimer } from '../../../media/viewer-primer.js';

const H264 = 'video/H264';

function rtp(sequenceNumber: number, timestamp: number, bytes: number): RtpPacket {
  return new RtpPacket(new RtpHeader({ sequenceNumber, timestamp, ssrc: 1 }), Buffer.alloc(bytes, 0x41));
}

/** A clock and timers the test moves by hand. */
function manualTimers(): PrimerTimers & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let ids = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ at: now + ms, fn, id: ++ids });
      return ids;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = until;
    },
    pending: () => timers.length,
  };
}

function recorder() {
  const sent: Array<{ kind: MediaKind; seq: number; shift: number }> = [];
  return {
    sent,
    viewer: {
      forward(kind: MediaKind, _mime: string, packet: RtpPacket, shift = 0) {
        sent.push({ kind, seq: packet.header.sequenceNumber, shift });
      },
    },
  };
}

/** Ten 988-byte packets (1,000 as counted), one frame each, 1 s of 90 kHz apart. */
const burst = () => {
  const packets = Array.from({ length: 10 }, (_, i) => rtp(100 + i, i * 90_000, 988));
  return { mimeType: H264, packets, bytes: 10_000 };
};

/** A primer of burst() into a recording viewer, on manual timers, with what it reports. */
function primed(pacing: { headBytes: number; bytesPerMs: number }) {
  const timers = manualTimers();
  const { sent, viewer } = recorder();
  const outcomes: string[] = [];
  const primer = new ViewerPrimer(viewer, burst(), (o) => outcomes.push(o), pacing, timers);
  return { primer, timers, sent, outcomes };
}

describe('ViewerPrimer', () => {
  it('paces the burst, holds live video meanwhile and sends it right after, in order; audio passes at once', () => {
    const { primer, timers, sent, outcomes } = primed({ headBytes: 3000, bytesPerMs: 1000 });
    primer.start();
    expect(sent.map((s) => s.seq)).toEqual([100, 101, 102, 103]); // the head (3 packets) and the one due at 0 ms
    primer.forward('video', H264, rtp(110, 10 * 90_000, 500));
    primer.forward('audio', 'audio/opus', rtp(7, 0, 100));
    expect(sent.at(-1)).toEqual({ kind: 'audio', seq: 7, shift: 0 });
    timers.advance(3);
    expect(sent.filter((s) => s.kind === 'video').map((s) => s.seq)).toEqual([
      100, 101, 102, 103, 104, 105, 106,
    ]);
    primer.forward('video', H264, rtp(111, 10 * 90_000, 500));
    timers.advance(10);
    expect(sent.filter((s) => s.kind === 'video').map((s) => s.seq)).toEqual([
      100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    ]);
    expect(outcomes).toEqual(['sent']);
    expect(timers.pending()).toBe(0);
    // Burst packets come drawn together (the newest unshifted), live ones unchanged.
    const video = sent.filter((s) => s.kind === 'video');
    expect(video[9]!.shift).toBe(0);
    expect(video[0]!.shift).toBeGreaterThan(8 * 90_000);
    expect(video.slice(10).every((s) => s.shift === 0)).toBe(true);
    // Finished: packets go straight through (the Stream feeds the viewer directly by then anyway).
    primer.forward('video', H264, rtp(112, 11 * 90_000, 500));
    expect(sent.at(-1)!.seq).toBe(112);
  });

  it('gives up when the camera sends too much meanwhile: held video dropped, done("overflow")', () => {
    const { primer, timers, sent, outcomes } = primed({ headBytes: 0, bytesPerMs: 1 });
    primer.start();
    for (let i = 0; i <= 4096; i++) primer.forward('video', H264, rtp(200 + i, 0, 10));
    expect(outcomes).toEqual(['overflow']);
    expect(timers.pending()).toBe(0);
    expect(sent.some((s) => s.seq >= 200)).toBe(false);
  });

  it('cancel() stops it without calling done', () => {
    const { primer, timers, sent, outcomes } = primed({ headBytes: 0, bytesPerMs: 1 });
    primer.start();
    primer.cancel();
    timers.advance(100_000);
    expect(sent).toHaveLength(1);
    expect(outcomes).toEqual([]);
  });
});
