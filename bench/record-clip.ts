/**
 * The simulated camera of bench/record.ts: one H.264 clip (and optionally Opus) encoded once
 * by ffmpeg straight to RTP on loopback, captured packet by packet, then replayed in a loop
 * by any number of SimulatedCameras with their own SSRC, sequence numbers and timestamps.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { RtpHeader, RtpPacket } from 'werift';
import type { RecordedStream } from '../recordings/recorder.js';

export interface ClipOptions {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  keyframeSeconds: number;
  seconds: number;
  audio: boolean;
}

interface ClipPacket {
  kind: 'video' | 'audio';
  /** When to send it, in ms from the start of the clip (from its RTP timestamp). */
  atMs: number;
  /** RTP timestamp from the start of the clip, in the kind's clock. */
  ts: number;
  marker: boolean;
  payload: Buffer;
}

export interface Clip {
  packets: ClipPacket[];
  /** Length of one loop in ms; a loop's timestamps advance by `durationMs` in each clock. */
  durationMs: number;
  videoFrames: number;
  /** Video payload bitrate in kbit/s. */
  videoKbps: number;
}

const VIDEO_CLOCK = 90_000;
const AUDIO_CLOCK = 48_000;

async function bindCapture(): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/**
 * Encodes the clip with libx264 (packetization mode 1, SPS/PPS before every IDR, no B-frames,
 * fixed GOP) and captures its RTP. Light sensor-like noise keeps the encoder at the bitrate.
 */
export async function encodeClip(options: ClipOptions, ffmpeg: string): Promise<Clip> {
  const video = await bindCapture();
  const audio = await bindCapture();
  const raw: Record<'video' | 'audio', Buffer[]> = { video: [], audio: [] };
  video.on('message', (buf) => raw.video.push(buf));
  audio.on('message', (buf) => raw.audio.push(buf));
  const { width, height, fps, bitrateKbps, keyframeSeconds, seconds } = options;
  const gop = Math.round(fps * keyframeSeconds);
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps},noise=alls=10:allf=t`,
    ...(options.audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    '-t',
    String(seconds),
    '-map',
    '0:v:0',
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-profile:v',
    'main',
    '-bf',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-x264-params',
    'repeat-headers=1',
    '-b:v',
    `${bitrateKbps}k`,
    '-maxrate',
    `${bitrateKbps}k`,
    '-bufsize',
    `${bitrateKbps}k`,
    '-f',
    'rtp',
    '-payload_type',
    '96',
    '-pkt_size',
    '1200',
    `rtp://127.0.0.1:${video.address().port}`,
  ];
  if (options.audio) {
    args.push(
      ...['-t', String(seconds), '-map', '1:a:0', '-vn', '-c:a', 'libopus', '-ac', '2', '-ar', '48000'],
      ...['-b:a', '32k', '-application', 'lowdelay', '-f', 'rtp', '-payload_type', '111'],
      `rtp://127.0.0.1:${audio.address().port}`,
    );
  }
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 200)); // the last datagrams
  video.close();
  audio.close();
  if (code !== 0) throw new Error(`ffmpeg could not encode the clip (exit ${code}): ${stderr}`);

  const packets: ClipPacket[] = [];
  for (const kind of ['video', 'audio'] as const) {
    const clock = kind === 'video' ? VIDEO_CLOCK : AUDIO_CLOCK;
    const parsed = raw[kind].map((buf) => RtpPacket.deSerialize(buf));
    for (let i = 1; i < parsed.length; i++) {
      if (((parsed[i - 1]!.header.sequenceNumber + 1) & 0xffff) !== parsed[i]!.header.sequenceNumber)
        throw new Error(`the ${kind} clip lost packets while being captured; run again`);
    }
    const ts0 = parsed[0]?.header.timestamp ?? 0;
    for (const p of parsed) {
      const ts = (p.header.timestamp - ts0) >>> 0;
      if (ts >= seconds * clock) continue; // the next loop starts there
      packets.push({ kind, atMs: (ts / clock) * 1000, ts, marker: p.header.marker, payload: p.payload });
    }
  }
  if (!packets.some((p) => p.kind === 'video')) throw new Error(`ffmpeg sent no video: ${stderr}`);
  packets.sort((a, b) => a.atMs - b.atMs);
  const videoPackets = packets.filter((p) => p.kind === 'video');
  const videoBytes = videoPackets.reduce((sum, p) => sum + p.payload.length, 0);
  return {
    packets,
    durationMs: seconds * 1000,
    videoFrames: videoPackets.filter((p) => p.marker).length,
    videoKbps: (videoBytes * 8) / seconds / 1000,
  };
}

/**
 * A camera's Stream as the Recorder sees it, playing the clip in a loop in real time from
 * `startAt` (performance.now() ms). Call tick() often; it emits every packet that is due.
 */
export class SimulatedCamera extends EventEmitter implements RecordedStream {
  readonly #clip: Clip;
  readonly #ssrc: { video: number; audio: number };
  readonly #startAt: number;
  #index = 0;
  #loop = 0;
  readonly #seq = { video: 0, audio: 0 };
  readonly #ts0 = { video: 0, audio: 0 };
  demand = 0;
  /** Video frames sent so far (packets with the marker bit). */
  framesSent = 0;
  firstPacketAt: number | undefined;
  /** Largest delay of a packet behind its schedule, in ms (the event loop's lag). */
  maxLateMs = 0;

  constructor(clip: Clip, id: number, startAt: number) {
    super();
    this.#clip = clip;
    this.#startAt = startAt;
    this.#ssrc = { video: (0x10000000 + id * 2) >>> 0, audio: (0x10000001 + id * 2) >>> 0 };
    this.#seq = { video: (id * 7919) & 0xffff, audio: (id * 104729) & 0xffff };
    this.#ts0 = { video: (id * 123_456_789) >>> 0, audio: (id * 987_654_321) >>> 0 };
  }

  addDemand(): void {
    this.demand++;
  }

  removeDemand(): void {
    this.demand--;
  }

  /** The clip loops with a keyframe every few seconds and starts with one: nothing to do. */
  requestKeyframe(): void {}

  tick(now: number): void {
    const packets = this.#clip.packets;
    for (;;) {
      const p = packets[this.#index]!;
      const due = this.#startAt + this.#loop * this.#clip.durationMs + p.atMs;
      if (due > now) return;
      this.maxLateMs = Math.max(this.maxLateMs, now - due);
      this.firstPacketAt ??= now;
      const clock = p.kind === 'video' ? VIDEO_CLOCK : AUDIO_CLOCK;
      const loopTicks = (this.#loop * this.#clip.durationMs * clock) / 1000;
      const header = new RtpHeader({
        payloadType: p.kind === 'video' ? 96 : 111,
        sequenceNumber: this.#seq[p.kind],
        timestamp: (this.#ts0[p.kind] + loopTicks + p.ts) >>> 0,
        ssrc: this.#ssrc[p.kind],
        marker: p.marker,
      });
      this.#seq[p.kind] = (this.#seq[p.kind] + 1) & 0xffff;
      if (p.kind === 'video' && p.marker) this.framesSent++;
      this.emit(
        'rtp',
        p.kind,
        p.kind === 'video' ? 'video/H264' : 'audio/opus',
        new RtpPacket(header, p.payload),
      );
      if (++this.#index === packets.length) {
        this.#index = 0;
        this.#loop++;
      }
    }
  }
}
