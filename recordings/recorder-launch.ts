import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import { Segmenter, type SegmenterEvents } from './ffmpeg.js';
import { freeUdpPorts, isUdpPortTaken } from './ports.js';
import { type AudioCodec, recorderSdp, type VideoCodec } from './rtp-input.js';

/** Many recorders starting at once on a busy machine start their ffmpegs slowly. */
const LISTEN_TIMEOUT_MS = 20_000;

export interface LaunchRequest {
  deviceDir: string;
  /** Names the session's files: `<stamp>-%05d.mp4` and `.<stamp>.sdp`. */
  stamp: string;
  sdpFile: string;
  video: VideoCodec;
  audio: AudioCodec | undefined;
  parameterSets: { sps: Buffer; pps: Buffer } | undefined;
  segmentSeconds: number;
  fragmentMs: number;
  log: Logger;
  onSegment(...args: SegmenterEvents['segment']): void;
  onExit(...args: SegmenterEvents['exit']): void;
  /** False once the recorder no longer wants this session: the launch stops waiting. */
  wanted(): boolean;
  now(): number;
}

export interface Launched {
  segmenter: Segmenter;
  videoPort: number;
  audioPort: number | undefined;
}

/**
 * Starts one session's ffmpeg: free loopback ports, the SDP naming them, the Segmenter.
 * `started` gets it as soon as it exists (so it can be stopped while it starts); the
 * promise says whether ffmpeg listens on every port, false when it ended or the session
 * is no longer wanted. Throws when it does not listen within 20 s.
 */
export async function launchSegmenter(
  request: LaunchRequest,
  started: (launched: Launched) => void,
): Promise<boolean> {
  const base = await freeUdpPorts(request.audio ? 4 : 2);
  if (!request.wanted()) return false;
  const launched: Launched = {
    videoPort: base,
    audioPort: request.audio ? base + 2 : undefined,
    segmenter: undefined as unknown as Segmenter,
  };
  writeFileSync(
    request.sdpFile,
    recorderSdp({
      video: {
        codec: request.video,
        port: launched.videoPort,
        ...(request.parameterSets ? { parameterSets: request.parameterSets } : {}),
      },
      ...(request.audio ? { audio: { codec: request.audio, port: launched.audioPort! } } : {}),
    }),
  );
  const segmenter = new Segmenter({
    sdpFile: request.sdpFile,
    outputPattern: path.join(request.deviceDir, `${request.stamp}-%05d.mp4`),
    startNumber: 0,
    segmentSeconds: request.segmentSeconds,
    fragmentMs: request.fragmentMs,
    audio: request.audio === undefined ? 'none' : request.audio === 'opus' ? 'copy' : 'aac',
    log: request.log,
  });
  launched.segmenter = segmenter;
  segmenter.on('segment', request.onSegment);
  segmenter.on('exit', request.onExit);
  started(launched);
  const deadline = request.now() + LISTEN_TIMEOUT_MS;
  for (const port of [launched.videoPort, launched.audioPort]) {
    if (port === undefined) continue;
    while (!(await isUdpPortTaken(port))) {
      if (!segmenter.running || !request.wanted()) return false;
      if (request.now() > deadline) throw new Error('ffmpeg did not open its RTP ports within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return segmenter.running && request.wanted();
}
