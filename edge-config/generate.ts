import { type EdgeConfig, edgeConfigSchema } from './schema.js';

export interface EdgeConfigInput {
  deviceId: string;
  name: string;
  secret: string;
  /** As the camera reaches the broker, e.g. mqtt://203.0.113.7:1883. */
  mqttUrl: string;
  /** Other brokers of the same cluster, tried in turn (mqtt.fallbackUrls). */
  fallbackUrls?: readonly string[] | undefined;
  wsUrl?: string | undefined;
  topicPrefix: string;
  caCert?: string | undefined;
}

/** Stream defaults for a new camera: 720p15 H.264 at 2 Mbps, a keyframe every 2 s, Opus. */
export const DEFAULT_STREAM: EdgeConfig['stream'] = {
  video: { codec: 'h264', width: 1280, height: 720, fps: 15, bitrateKbps: 2000, keyframeIntervalSeconds: 2 },
  audio: { codec: 'opus' },
};

/** Renders the file flashed onto a device. Validates what it produces, so a bad input fails here, not on the camera. */
export function renderEdgeConfig(input: EdgeConfigInput): EdgeConfig {
  return edgeConfigSchema.parse({
    version: 1,
    deviceId: input.deviceId,
    name: input.name,
    mqtt: {
      url: input.mqttUrl,
      ...(input.fallbackUrls?.length ? { fallbackUrls: [...input.fallbackUrls] } : {}),
      ...(input.wsUrl ? { wsUrl: input.wsUrl } : {}),
      username: input.deviceId,
      password: input.secret,
      clientId: input.deviceId,
      topicPrefix: input.topicPrefix,
      keepaliveSeconds: 30,
      ...(input.caCert ? { caCert: input.caCert } : {}),
    },
    stream: DEFAULT_STREAM,
  });
}
