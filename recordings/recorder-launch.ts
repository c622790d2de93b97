import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import { Segmenter, type SegmenterEvents } from './ffmpeg.js';
import { anyUdpPortTaken, freeUdpPorts, watchUdpPort } from './ports.js';
import { type AudioCodec, recorderSdp, type VideoCodec } from './rtp-input.js';

/** Many recorders starting at once on a busy machine start their ffmpegs slowly. */
const LISTEN_TIMEOUT_MS = 20_000;
/** Port ranges tried before a launch counts as failed (each a fresh choice). */
const PORT_ATTEMPTS = 3;

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
  /** Each line of ffmpeg's stderr (the recorder summarises them). */
  onStderr(line: string): void;
  onSegment(...args: SegmenterEvents['segment']): void;
  /** ffmpeg ended after it listened, or failed to start for a reason other than its ports. */
  onExit(...args: SegmenterEvents['exit']): void;
  /** False once the recorder no longer wants this session: the launch stops waiting. */
  wanted(): boolean;
  now(): number;
  /** Where the RTP ports come from (default: freeUdpPorts); tests hand out taken ones. */
  ports?: (count: number) => Promise<number>;
}

export interface Launched {
  segmenter: Segmenter;
  videoPort: number;
  audioPort: number | undefined;
}

/** ffmpeg's words when another socket took its port first. */
function isBindFailure(error: string | undefined): boolean {
  return error !== undefined && /bind failed|Address already in use/i.test(error);
}

/**
 * Starts one session's ffmpeg: free loopback ports, the SDP naming them, the Segmenter.
 * `started` gets each Segmenter as soon as it exists (so it can be stopped while it starts);
 * the promise says whether ffmpeg listens on every port, false when it ended or the session
 * is no longer wanted. Ports found taken just before the start, or that ffmpeg could not
 * bind, are replaced by others (a retry, not a fault: issue 9, item 7). Throws when ffmpeg
 * does not listen within 20 s.
 */
export async function launchSegmenter(
  request: LaunchRequest,
  started: (launched: Launched) => void,
): Promise<boolean> {
  const count = request.audio ? 4 : 2;
  const choose = request.ports ?? freeUdpPorts;
  mkdirSync(request.deviceDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const base = await choose(count);
    if (!request.wanted()) return false;
    if (attempt < PORT_ATTEMPTS && (await anyUdpPortTaken(base, count))) {
      request.log.info({ base, attempt }, 'recorder ports taken before ffmpeg started; choosing others');
      continue;
    }
    const outcome = await launchOnce(request, base, started);
    if (outcome.kind === 'listening') return true;
    if (outcome.kind === 'unwanted') return false;
    if (attempt < PORT_ATTEMPTS && isBindFailure(outcome.error) && request.wanted()) {
      request.log.info({ base, attempt }, 'ffmpeg could not bind its RTP ports; choosing others');
      continue;
    }
    request.onExit({ requested: false, ...(outcome.error ? { error: outcome.error } : {}) });
    return false;
  }
}

type Outcome = { kind: 'listening' } | { kind: 'unwanted' } | { kind: 'exited'; error?: string };

async function launchOnce(
  request: LaunchRequest,
  base: number,
  started: (launched: Launched) => void,
): Promise<Outcome> {
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
  // What holds the ports before ffmpeg starts: only a socket bound after that is ffmpeg's.
  const watches = await Promise.all(
    [launched.videoPort, launched.audioPort].flatMap((port) =>
      port === undefined ? [] : [watchUdpPort(port)],
    ),
  );
  const segmenter = new Segmenter({
    sdpFile: request.sdpFile,
    outputPattern: path.join(request.deviceDir, `${request.stamp}-%05d.mp4`),
    startNumber: 0,
    segmentSeconds: request.segmentSeconds,
    fragmentMs: request.fragmentMs,
    audio: request.audio === undefined ? 'none' : request.audio === 'opus' ? 'copy' : 'aac',
    log: request.log,
    onStderr: request.onStderr,
  });
  launched.segmenter = segmenter;
  // Until ffmpeg listens, its exit is this launch's to judge (a port clash is retried);
  // after that it is the recorder's.
  let listening = false;
  let early: SegmenterEvents['exit'][0] | undefined;
  segmenter.on('segment', request.onSegment);
  segmenter.on('exit', (info) => {
    if (listening) request.onExit(info);
    else early = info;
  });
  started(launched);
  const deadline = request.now() + LISTEN_TIMEOUT_MS;
  for (const boundByFfmpeg of watches) {
    while (!(await boundByFfmpeg())) {
      if (!request.wanted() || early?.requested) return { kind: 'unwanted' };
      if (!segmenter.running) return { kind: 'exited', ...(early?.error ? { error: early.error } : {}) };
      if (request.now() > deadline) throw new Error('ffmpeg did not open its RTP ports within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  if (!request.wanted() || early?.requested) return { kind: 'unwanted' };
  if (!segmenter.running) return { kind: 'exited', ...(early?.error ? { error: early.error } : {}) };
  listening = true;
  return { kind: 'listening' };
}
