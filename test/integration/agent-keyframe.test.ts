import { afterEach, describe, expect, it } from 'vitest';
import type { RtpPacket } from 'werift';
import { RtpSource } from '../../agent/rtp-source.js';
import type { EdgeConfig } from '../../edge-config/index.js';
import { isKeyframeStart } from '../../media/keyframe.js';
import { captureLog } from '../helpers/log.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

const stream: EdgeConfig['stream'] = {
  // One keyframe a minute unless asked: every other keyframe here answers a request.
  video: { codec: 'h264', width: 320, height: 180, fps: 15, bitrateKbps: 300, keyframeIntervalSeconds: 60 },
  audio: { codec: 'none' },
} as EdgeConfig['stream'];

describe.runIf(hasFfmpeg)('the reference agent answers keyframe requests (real ffmpeg)', () => {
  let source: RtpSource | undefined;
  afterEach(() => source?.close());

  it('does not restart an encoder that has not sent its first frame; restarts one that has', async () => {
    const { lines, log } = captureLog('debug');
    const restarts = () => lines.filter((l) => l.msg === 'keyframe requested: restarting the encoder').length;
    source = await RtpSource.open({ kind: 'test' }, stream, log);
    let keyframes = 0;
    let video = 0;
    source.on('rtp', (kind, packet: RtpPacket) => {
      if (kind !== 'video') return;
      video++;
      if (isKeyframeStart('video/H264', packet.payload)) keyframes++;
    });
    source.start();
    // Asked at once, as viewers do while a camera's session starts: its first frame answers.
    source.forceKeyframe();
    expect(lines.some((l) => l.msg === 'keyframe requested: the starting encoder sends one first')).toBe(
      true,
    );
    await waitFor(() => keyframes > 0 && video > 20, {
      timeoutMs: 20_000,
      what: 'the first keyframe and more video',
    });
    expect(restarts()).toBe(0);
    const first = keyframes;
    // Now it has sent video: a request restarts it, and a new keyframe comes (the next one is a minute away).
    source.forceKeyframe();
    expect(restarts()).toBe(1);
    await waitFor(() => keyframes > first, { timeoutMs: 20_000, what: 'the requested keyframe' });
  });
});
