/**
 * The media boundary (issue 10): what the control plane asks of a media worker and what a
 * worker tells it. Every argument and result is plain data (JSON-able objects; RTP crosses
 * only as UDP datagrams to a tap's address), never a live object, so a worker can live in
 * this process, in a child process or, later, on another host. Modelled on mediasoup's
 * Worker/Channel: requests answered once, events pushed.
 */
import type { EngineOptions } from '../engine.js';
import type { DeviceMessage, IceServer, ParseResult, ServerMessage } from '../signaling/messages.js';

export type MediaKind = 'video' | 'audio';

export interface HostCandidate {
  address: string;
  port: number;
}

export interface UdpTarget {
  address: string;
  port: number;
}

/** A camera's codecs as last seen (mime types such as `video/H264`). */
export interface CameraCodecs {
  video: string;
  audio: string;
}

/** ICE servers (with fresh credentials) for one camera: the camera's own and the worker's upstream peer's. */
export interface CameraIce {
  device: IceServer[];
  media: IceServer[];
}

/** Commands, by name: their arguments and what they answer. */
export interface MediaCommands {
  /** Holds `cameraId` in this worker from now on; replays what the control plane knows of it. */
  openCamera: {
    args: {
      cameraId: string;
      online: boolean;
      /** What is left of the hello grace (the camera came online that long ago). */
      graceMs?: number;
      /** The camera's last hello since it came online, replayed. */
      hello?: DeviceMessage;
      ice: CameraIce;
    };
    result: null;
  };
  /** Says bye to the camera, closes its peers, viewers and taps. */
  closeCamera: { args: { cameraId: string }; result: null };
  presence: { args: { cameraId: string; online: boolean; ice?: CameraIce }; result: null };
  /** Fresh ICE credentials for the camera's next offers. */
  updateIce: { args: { cameraId: string; ice: CameraIce }; result: null };
  /** One message (valid or not) the camera published on its `up/signal`. */
  signal: { args: { cameraId: string; result: ParseResult<DeviceMessage> }; result: null };
  addViewer: {
    args: { cameraId: string; viewerId: string; offerSdp: string; owner: string };
    result: { answerSdp: string };
  };
  trickle: {
    args: { cameraId: string; viewerId: string; candidates: string[] };
    result: null;
  };
  removeViewer: {
    args: { cameraId: string; viewerId: string; reason: string };
    result: { removed: boolean };
  };
  requestKeyframe: { args: { cameraId: string }; result: null };
  /** Sends the camera's plain RTP (as received, camera payload types) to `video`/`audio`. A tap is demand. */
  addTap: { args: { cameraId: string; tapId: string; video: UdpTarget; audio?: UdpTarget }; result: null };
  removeTap: { args: { cameraId: string; tapId: string }; result: null };
  stats: { args: Record<string, never>; result: WorkerStats };
  /**
   * The camera's latest H.264 keyframe while it streams (media/keyframe-store.ts), Annex B in
   * base64; without the bytes when it is still the one numbered `knownSeq`. Null when none.
   */
  keyframe: { args: { cameraId: string; knownSeq?: number }; result: KeyframeInfo | null };
}

/** A camera's latest keyframe as the `keyframe` command answers it. */
export interface KeyframeInfo {
  /** Larger for a newer keyframe (per worker). */
  seq: number;
  /** How long ago it arrived. */
  ageMs: number;
  /** Annex B H.264 (SPS, PPS, IDR), base64; absent when it is the keyframe the caller knows. */
  annexB?: string;
}

export type CommandName = keyof MediaCommands;
export type CommandArgs<C extends CommandName> = MediaCommands[C]['args'];
export type CommandResult<C extends CommandName> = MediaCommands[C]['result'];

export interface CameraStats {
  cameraId: string;
  viewers: number;
  taps: number;
  /** Upstream peer connections, the one in use and those closing (bounded). */
  upstreamPeers: number;
  live: boolean;
}

export interface WorkerStats {
  cameras: CameraStats[];
  rssBytes: number;
  heapUsedBytes: number;
  /** UDP sockets open in the worker (werift peers' and the tap socket). */
  udpSockets: number;
  /** CPU used by the worker since it started (user + system, ms). */
  cpuMs: number;
  /** RTP bytes (header and payload, before SRTP) received from cameras since the worker started. */
  receivedBytes: number;
  /** SRTP bytes written to viewers since the worker started (retransmissions included). */
  sentBytes: number;
}

/** Events a worker pushes, by name. */
export interface MediaEvents {
  /** A message for the camera's `down/signal` (the control plane publishes it). */
  signal: { cameraId: string; message: ServerMessage };
  /**
   * The camera streams (again), or a payload type of its was seen for the first time: its codecs,
   * and the codec of each payload type its packets carry (a tap's datagrams are read with these).
   */
  cameraLive: {
    cameraId: string;
    codecs: CameraCodecs;
    payloadTypes: Array<{ payloadType: number; mimeType: string }>;
  };
  cameraEnded: { cameraId: string };
  /** Where the worker listens for the camera's media now (for the TURN server's peer filter). */
  hostCandidates: { cameraId: string; candidates: HostCandidate[] };
  viewerConnected: { cameraId: string; viewerId: string };
  /** The viewer was sent the start of its first video keyframe (its first picture can be decoded). */
  viewerFirstFrame: { cameraId: string; viewerId: string };
  /** The viewer is gone from the worker (its peer failed or closed, it timed out, or it was removed). */
  viewerClosed: { cameraId: string; viewerId: string; reason: string };
  /** One log record of the worker (pino's JSON object), re-logged by the control plane with the worker id. */
  log: { record: Record<string, unknown> };
}

export type EventName = keyof MediaEvents;

/** A worker event as it crosses the boundary. */
export type MediaEvent = { [E in EventName]: { event: E; data: MediaEvents[E] } }[EventName];

/** Wire messages of a process channel (Node IPC, JSON). */
export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'request'; id: number; command: CommandName; args: unknown }
  | { type: 'shutdown' };

/** What a worker process is told when it starts (its first IPC message). */
export interface WorkerInit {
  workerId: number;
  /** The control plane's log level: the worker logs no finer. */
  logLevel: string;
  engine: EngineOptions;
}

export type FromWorker =
  | { type: 'ready'; pid: number }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: { code: string; message: string } }
  | ({ type: 'event' } & MediaEvent);
