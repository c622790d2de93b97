import { existsSync } from 'node:fs';
import type { EdgeConfig } from '../edge-config/index.js';

/** Where the agent's video comes from: `test` (a generated pattern), an RTSP URL, or a V4L2 device. */
export type RtspTransport = 'tcp' | 'udp' | 'auto';

export type SourceSpec =
  | { kind: 'test' }
  | { kind: 'rtsp'; url: string; transport: RtspTransport }
  | { kind: 'v4l2'; device: string };

/** `rtspTransport`: RTP over the RTSP TCP connection (the default, robust through NAT and Wi-Fi), UDP, or ffmpeg's choice (UDP, then TCP). */
export function parseSource(text: string, rtspTransport: RtspTransport = 'tcp'): SourceSpec {
  if (text === 'test') return { kind: 'test' };
  if (/^rtsps?:\/\//.test(text)) return { kind: 'rtsp', url: text, transport: rtspTransport };
  if (text.startsWith('/dev/')) return { kind: 'v4l2', device: text };
  throw new Error(`unknown source '${text}': use test, rtsp://host/path or /dev/videoN`);
}

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';

/** Audio encoders and their RTP payload types (RFC 3551 static types for G.711). */
const AUDIO_ENCODERS = {
  opus: [
    '-c:a',
    'libopus',
    '-ac',
    '2',
    '-ar',
    '48000',
    '-b:a',
    '32k',
    '-application',
    'lowdelay',
    '-f',
    'rtp',
    '-payload_type',
    '111',
  ],
  pcmu: ['-c:a', 'pcm_mulaw', '-ac', '1', '-ar', '8000', '-f', 'rtp', '-payload_type', '0'],
  pcma: ['-c:a', 'pcm_alaw', '-ac', '1', '-ar', '8000', '-f', 'rtp', '-payload_type', '8'],
} as const;

/**
 * ffmpeg arguments that turn a source into RTP on loopback: H.264 (packetization mode 1,
 * SPS/PPS repeated before every IDR) or VP8 on `videoPort`, Opus or G.711 on `audioPort` when
 * the source has audio. An RTSP camera's H.264 is copied, never re-encoded. The test source burns the wall clock into the picture so a viewer can see it tick.
 */
export function ffmpegArgs(
  source: SourceSpec,
  stream: EdgeConfig['stream'],
  ports: { video: number; audio: number },
): string[] {
  const { width, height, fps, bitrateKbps, keyframeIntervalSeconds } = stream.video;
  const gop = Math.max(1, Math.round(fps * keyframeIntervalSeconds));
  const input: string[] = [];
  let hasAudio = stream.audio.codec !== 'none';
  let copyVideo = false;
  switch (source.kind) {
    case 'test': {
      const clock = existsSync(FONT)
        ? `,drawtext=fontfile=${FONT}:text='%{localtime\\:%H\\\\\\:%M\\\\\\:%S}':fontsize=${Math.round(height / 8)}:fontcolor=white:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h-th-20`
        : '';
      input.push('-re', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}${clock}`);
      if (hasAudio) input.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
      break;
    }
    case 'rtsp':
      if (source.transport !== 'auto') input.push('-rtsp_transport', source.transport);
      input.push('-i', source.url);
      copyVideo = true; // cameras already send H.264: no re-encoding
      break;
    case 'v4l2':
      input.push(
        '-f',
        'v4l2',
        '-framerate',
        String(fps),
        '-video_size',
        `${width}x${height}`,
        '-i',
        source.device,
      );
      hasAudio = false;
      break;
  }
  const rate = ['-b:v', `${bitrateKbps}k`, '-maxrate', `${bitrateKbps}k`, '-bufsize', `${bitrateKbps}k`];
  const keyframes = ['-g', String(gop), '-keyint_min', String(gop)];
  const encoders = {
    h264: [
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-profile:v',
      stream.video.h264Profile ?? 'baseline',
      '-sc_threshold',
      '0',
      '-x264-params',
      'repeat-headers=1',
    ],
    vp8: [
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-error-resilient',
      '1',
      '-auto-alt-ref',
      '0',
      '-lag-in-frames',
      '0',
    ],
  };
  const video = copyVideo
    ? ['-c:v', 'copy', '-bsf:v', 'dump_extra']
    : [...encoders[stream.video.codec], '-pix_fmt', 'yuv420p', ...keyframes, ...rate];
  const args = [
    '-hide_banner',
    '-loglevel',
    'warning',
    '-nostdin',
    ...input,
    '-map',
    '0:v:0',
    ...video,
    '-an',
  ];
  args.push('-f', 'rtp', '-payload_type', '96', '-pkt_size', '1200', `rtp://127.0.0.1:${ports.video}`);
  if (hasAudio) {
    const audioInput = source.kind === 'test' ? '1:a:0' : '0:a:0?';
    const encoder = AUDIO_ENCODERS[stream.audio.codec as keyof typeof AUDIO_ENCODERS];
    args.push('-map', audioInput, '-vn', ...encoder, `rtp://127.0.0.1:${ports.audio}`);
  }
  return args;
}
