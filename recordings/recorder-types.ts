import type { Logger } from '../core/log.js';
import type { RecordingStore } from '../devices/index.js';
import type { EndReason, TapPacket } from '../media/index.js';
import type { DiskPolicy } from './disk-space.js';
import type { Segmenter } from './ffmpeg.js';
import type { PacketQueue } from './packet-queue.js';
import type { AudioCodec, VideoCodec } from './rtp-input.js';

/** The recorder's interfaces, states and defaults (recorder.ts is the machine). */

/** What the recorder needs from a camera's feed (media/camera-feed.ts: an RTP tap from its media worker). */
export interface RecordedStream {
  on(event: 'rtp', listener: (kind: 'video' | 'audio', mimeType: string, packet: TapPacket) => void): unknown;
  on(event: 'ended', listener: (reason: EndReason) => void): unknown;
  off(
    event: 'rtp',
    listener: (kind: 'video' | 'audio', mimeType: string, packet: TapPacket) => void,
  ): unknown;
  off(event: 'ended', listener: (reason: EndReason) => void): unknown;
  addDemand(holder: string): void;
  removeDemand(holder: string): void;
  requestKeyframe(): void;
}

export interface RecorderOptions {
  deviceId: string;
  /** The recordings directory; this camera's files go in `<dir>/<deviceId>/`. */
  dir: string;
  segmentSeconds: number;
  fragmentMs: number;
  store: RecordingStore;
  /** This node's id: the index names it as the holder of the files (D40). */
  node: string;
  log: Logger;
  /** Called after every finished segment (retention runs then). */
  onSegment?: () => void;
  /** Called when recording stops on a fault (counted in metrics). */
  onFault?: (reason: RecorderFault) => void;
  now?: () => number;
  /** Restart back-off after an ffmpeg failure. */
  backoff?: { initialMs: number; maxMs: number };
  /** When recording pauses for want of disk space and resumes (see disk-space.ts). */
  disk?: Partial<DiskPolicy>;
  /** Where ffmpeg's RTP ports come from (test hook; default recordings/ports.ts). */
  ports?: (count: number) => Promise<number>;
}

/** Why a recorder stopped recording: ffmpeg failed, the camera's codec, or a full disk. */
export type RecorderFault = 'ffmpeg' | 'unsupported-codec' | 'disk-full';

export const RECORDER_FAULTS: readonly RecorderFault[] = ['ffmpeg', 'unsupported-codec', 'disk-full'];

export type State =
  | { kind: 'idle' }
  | { kind: 'waiting-keyframe' }
  /** The camera sends a codec MP4 cannot hold: nothing is recorded until its next session. */
  | { kind: 'unsupported' }
  | { kind: 'collecting'; video: VideoCodec; queue: PacketQueue; timer: NodeJS.Timeout }
  | { kind: 'starting'; session: Session }
  | { kind: 'recording'; session: Session }
  | { kind: 'backoff'; timer: NodeJS.Timeout }
  /** Paused until free space returns (the disk check's timer resumes it). */
  | { kind: 'disk-full' }
  | { kind: 'closed' };

export interface Session {
  segmenter: Segmenter;
  videoPort: number;
  audioPort: number | undefined;
  audio: AudioCodec | undefined;
  video: VideoCodec;
  /** Wall-clock arrival of the keyframe the session starts with: segment times count from it. */
  startMs: number;
  stamp: string;
  sdpFile: string;
  /** The segment being written: its index, start and row id (resolves undefined when the registry refused it). */
  current: { index: number; startMs: number; rowId: Promise<number | undefined> } | undefined;
  /** Packets held while ffmpeg starts, then drained to it paced (packet-queue.ts). */
  queue: PacketQueue;
  stopping: boolean;
  stopped?: Promise<void>;
}

export const DEFAULT_DISK: DiskPolicy = {
  minFreeBytes: 256 * 1_048_576,
  resumeFreeBytes: 512 * 1_048_576,
  checkMs: 2000,
  backoff: { initialMs: 1000, maxMs: 10_000 },
};

/** Every recorder state, for metrics (one series each, zero included). */
export const RECORDER_STATES: ReadonlyArray<State['kind']> = [
  'idle',
  'waiting-keyframe',
  'unsupported',
  'collecting',
  'starting',
  'recording',
  'backoff',
  'disk-full',
  'closed',
];
