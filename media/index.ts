/**
 * media/: WebRTC. The control plane's side (MediaNode: WHEP, camera feeds, presence; the
 * router placing cameras on workers; MQTT signaling) and the media workers behind a boundary
 * of plain data (boundary/protocol.ts), each running a MediaEngine: one Stream per camera
 * (upstream werift peer, viewers, RTP taps).
 */
import os from 'node:os';
import type { MediaConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import type { EngineOptions } from './engine.js';
import { MediaNode } from './media-node.js';
import { loadNativeSrtp } from './native-srtp.js';
import { MediaRouter } from './router.js';
import type { IceServer } from './signaling/messages.js';
import { MqttSignaling, type SignalingConnection } from './signaling/mqtt-signaling.js';
import { DEFAULT_SIGNAL_LIMITS } from './signaling/signal-limiter.js';
import { WorkerPool } from './worker-pool.js';

export type { CameraFeed, EndReason } from './camera-feed.js';
export type { CameraKeyframe, CameraKeyframes } from './camera-keyframes.js';
export type { MediaNode } from './media-node.js';
export type { TapPacket } from './rtp-bytes.js';
export type { IceServer } from './signaling/messages.js';
export type { SignalingConnection } from './signaling/mqtt-signaling.js';

export interface MediaDeps {
  /** How to reach the broker as a service client. */
  broker: SignalingConnection;
  deviceExists(deviceId: string): boolean;
  /** STUN/TURN servers (with credentials) handed to a camera in each offer. */
  deviceIceServers?(deviceId: string): IceServer[];
  /**
   * STUN/TURN servers the media node's own peer connection to a camera uses (credentials are
   * fresh each time). Viewers' peer connections use none.
   */
  mediaIceServers?(): IceServer[];
  /**
   * A node of a cluster: other nodes hold some cameras and answer their messages, so a message
   * about a camera not placed here is left alone (D39).
   */
  clustered?: boolean;
  log: Logger;
}

/** `media.workers` resolved: unset means one per CPU core. */
export function workerCount(config: Pick<MediaConfig, 'workers'>): number {
  return config.workers ?? Math.max(1, os.availableParallelism());
}

/** Starts the media workers, connects to the broker and starts routing. Close it with `close()`. */
export async function createMediaNode(
  config: MediaConfig,
  deps: MediaDeps,
): Promise<{ node: MediaNode; workers: number; close(): Promise<void> }> {
  const engine: EngineOptions = {
    timings: {
      answerTimeoutMs: config.answerTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
      lingerMs: config.lingerMs,
      retryBaseMs: 1000,
      retryMaxMs: 30_000,
      helloGraceMs: config.helloGraceMs,
    },
    keyframeIntervalMs: config.keyframeIntervalMs,
    viewerTimeoutMs: config.viewerTimeoutMs,
    peerOptions: {
      iceServers: [],
      additionalHostAddresses: [...config.iceHostAddresses],
      portRange:
        config.icePortMin !== undefined && config.icePortMax !== undefined
          ? [config.icePortMin, config.icePortMax]
          : undefined,
      nativeSrtp: config.nativeSrtp,
    },
  };
  const workers = workerCount(config);
  if (config.nativeSrtp) {
    // Workers load the same file; a failure here is theirs too (they fall back the same way).
    const native = loadNativeSrtp();
    if (!native.addon) {
      deps.log.warn(
        { reason: native.reason },
        "viewers' SRTP is sent by JavaScript, which costs more CPU per viewer: the native addon is not available",
      );
    }
  }
  const pool = await WorkerPool.start(
    { workers, engine, logLevel: deps.log.level },
    deps.log.child({ part: 'workers' }),
  );
  let signaling: MqttSignaling;
  try {
    signaling = await MqttSignaling.connect(deps.broker, deps.log.child({ part: 'signaling' }), {
      deviceRatePerSecond: config.deviceSignalRatePerSecond,
      deviceBurst: config.deviceSignalBurst,
      totalRatePerSecond: DEFAULT_SIGNAL_LIMITS.totalRatePerSecond,
      totalBurst: DEFAULT_SIGNAL_LIMITS.totalBurst,
    });
  } catch (err) {
    await pool.close();
    throw err;
  }
  const router = new MediaRouter({
    signaling,
    pool,
    deviceExists: deps.deviceExists,
    deviceIceServers: deps.deviceIceServers ?? (() => []),
    mediaIceServers: deps.mediaIceServers ?? (() => []),
    helloGraceMs: config.helloGraceMs,
    answerUnplaced: !deps.clustered,
    log: deps.log,
  });
  const node = new MediaNode({
    router,
    pool,
    deviceExists: deps.deviceExists,
    viewerLimits: { perToken: config.maxViewersPerToken, total: config.maxViewers },
    log: deps.log,
  });
  let closing: Promise<void> | undefined;
  return {
    node,
    workers,
    close: () => {
      closing ??= (async () => {
        node.close();
        // Each worker says bye to its cameras and closes every peer before it exits.
        await pool.close();
        await signaling.close();
      })();
      return closing;
    },
  };
}
