import { describe, expect, it } from 'vitest';
import { FfmpegWarningSummary } from '../../../recordings/ffmpeg-warnings.js';

describe('FfmpegWarningSummary (ffmpeg stderr as a few log lines)', () => {
  it('counts known per-packet warnings and reports them as one line per interval', () => {
    const summary = new FfmpegWarningSummary({ intervalMs: 10_000 });
    const logged = [];
    for (let i = 0; i < 500; i++) {
      logged.push(...summary.add(`[sdp @ 0x55] RTP: missed ${(i % 3) + 1} packets`, 1000 + i));
      logged.push(...summary.add('[sdp @ 0x55] max delay reached. need to consume packet', 1000 + i));
    }
    logged.push(...summary.add('[sdp @ 0x55] jitter buffer full', 5000));
    expect(logged).toEqual([]);
    expect(summary.pending).toBe(true);
    // The next line after the interval closes it.
    const next = summary.add('RTP: missed 1 packets', 11_000);
    expect(next).toEqual([
      {
        level: 'warn',
        fields: {
          ffmpegWarnings: { 'jitter-buffer-full': 1, 'max-delay': 500, 'rtp-missed': 500 },
          missedPackets: 999,
          seconds: 10,
        },
        message: 'ffmpeg warned 1001 times (summary)',
      },
    ]);
    expect(summary.flush(12_000)).toEqual([
      expect.objectContaining({
        fields: { ffmpegWarnings: { 'rtp-missed': 1 }, missedPackets: 1, seconds: 1 },
      }),
    ]);
    expect(summary.flush(13_000)).toEqual([]);
    expect(summary.pending).toBe(false);
  });

  it('passes unknown lines through (real errors among them), a bounded number per interval, counting the rest', () => {
    const summary = new FfmpegWarningSummary({ intervalMs: 10_000, unknownPerInterval: 3 });
    const logged = [];
    logged.push(...summary.add('av_interleaved_write_frame(): No space left on device', 0));
    for (let i = 0; i < 100; i++) logged.push(...summary.add(`something new ${i}`, 1 + i));
    logged.push(...summary.add('   ', 200));
    expect(logged.map((l) => l.fields.ffmpeg)).toEqual([
      'av_interleaved_write_frame(): No space left on device',
      'something new 0',
      'something new 1',
    ]);
    expect(logged.every((l) => l.message === 'ffmpeg says')).toBe(true);
    expect(summary.flush(10_000)[0]!.fields).toEqual({ ffmpegWarnings: { other: 98 }, seconds: 10 });
    // A new interval: unknown lines are passed through again.
    expect(summary.add('something new again', 20_000)).toHaveLength(1);
  });

  it('cuts very long lines', () => {
    const summary = new FfmpegWarningSummary();
    const [line] = summary.add('x'.repeat(10_000), 0);
    expect(String(line!.fields.ffmpeg)).toHaveLength(500);
  });
});
