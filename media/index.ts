/**
 * media/: WebRTC. One Stream per camera (upstream werift peer, viewers, taps), the MQTT
 * signaling adapter (an ordinary MQTT client of the broker) and the WHEP service.
 */
import type { MediaConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { MediaNode } from './media-node.js';
import type { IceServer } from './signaling/messages.js';
import { MqttSignaling, type SignalingConnection } from './signaling/mqtt-signaling.js';
import { DEFAULT_SIGNAL_LIMITS } from './signaling/signal-limiter.js';

export type { MediaNode } from './media-node.js';
export type { IceServer } from './signaling/messages.js';
export type { SignalingConnection } from './signaling/mqtt-signaling.js';
export type { Stream } from './stream.js';

export interface MediaDeps {
  /** How to reach the broker as a service client. */
  broker: SignalingConnection;
  deviceExists(deviceId: string): boolean;
  /** STUN/TURN servers (with credentials) handed to a camera in each offer. */
  deviceIceServers?(deviceId: string): IceServer[];
  /**
   * STUN/TURN servers the media node's own peer connection to a camera uses, asked once per
   * session (credentials are fresh each time). Viewers' peer connections use none.
   */
  mediaIceServers?(): IceServer[];
  log: Logger;
}

/** Connects to the broker and starts the media node. Close it with `close()`. */
export async function createMediaNode(
  config: MediaConfig,
  deps: MediaDeps,
): Promise<{ node: MediaNode; close(): Promise<void> }> {
  const signaling = await MqttSignaling.connect(deps.broker, deps.log.child({ part: 'signaling' }), {
    deviceRatePerSecond: config.deviceSignalRatePerSecond,
    deviceBurst: config.deviceSignalBurst,
    totalRatePerSecond: DEFAULT_SIGNAL_LIMITS.totalRatePerSecond,
    totalBurst: DEFAULT_SIGNAL_LIMITS.totalBurst,
  });
  const node = new MediaNode(
    {
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
      viewerLimits: { perToken: config.maxViewersPerToken, total: config.maxViewers },
      peerOptions: {
        iceServers: [],
        additionalHostAddresses: [...config.iceHostAddresses],
        portRange:
          config.icePortMin !== undefined && config.icePortMax !== undefined
            ? [config.icePortMin, config.icePortMax]
            : undefined,
      },
    },
    {
      signaling,
      deviceExists: deps.deviceExists,
      deviceIceServers: deps.deviceIceServers ?? (() => []),
      mediaIceServers: deps.mediaIceServers ?? (() => []),
      log: deps.log,
    },
  );
  let closing: Promise<void> | undefined;
  return {
    node,
    close: () => {
      closing ??= (async () => {
        await node.close();
        await signaling.close();
      })();
      return closing;
    },
  };
}
