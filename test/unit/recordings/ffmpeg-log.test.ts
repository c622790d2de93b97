import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../core/log.js';
import { FfmpegLog } from '../../../recordings/ffmpeg-log.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', format: 'json', destination }) };
}

describe('FfmpegLog (a camera ffmpeg stderr in the log)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs a burst of per-packet warnings as one summary when the interval ends, even if ffmpeg goes quiet', () => {
    vi.useFakeTimers();
    const { lines, log } = capture();
    let clock = 0;
    const ffmpegLog = new FfmpegLog(log, () => clock, { intervalMs: 60_000 });
    for (let i = 0; i < 1000; i++) ffmpegLog.line('[sdp @ 0x1] RTP: missed 2 packets');
    ffmpegLog.line('[sdp @ 0x1] something we have never seen');
    expect(lines.map((l) => l.msg)).toEqual(['ffmpeg says']);
    clock = 60_000;
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      msg: 'ffmpeg warned 1000 times (summary)',
      ffmpegWarnings: { 'rtp-missed': 1000 },
      missedPackets: 2000,
      seconds: 60,
    });
    // Nothing counted: the timer stays off and close() adds nothing.
    vi.advanceTimersByTime(600_000);
    ffmpegLog.close();
    expect(lines).toHaveLength(2);
  });

  it('close() reports what was counted so far', () => {
    const { lines, log } = capture();
    const ffmpegLog = new FfmpegLog(log, () => 5000);
    ffmpegLog.line('max delay reached. need to consume packet');
    ffmpegLog.close();
    expect(lines.map((l) => l.ffmpegWarnings)).toEqual([{ 'max-delay': 1 }]);
  });
});
