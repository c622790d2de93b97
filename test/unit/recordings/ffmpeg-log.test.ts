import { afterEach, describe, expect, it, vi } from 'vitest';
import { FfmpegLog } from '../../../recordings/ffmpeg-log.js';
import { captureLog } from '../../helpers/log.js';

function capture() {
  const { lines, log } = captureLog();
  return { lines, log };
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
