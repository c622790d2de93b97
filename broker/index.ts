/**
 * broker/: the embedded MQTT broker (aedes) on TCP, optional TLS and WebSocket, with
 * authentication against the registry, a per-device ACL, presence and byte limits.
 * It knows nothing of WebRTC.
 */
import type { MqttConfig } from '../config/index.js';
import { type BrokerDeps, MqttBroker } from './broker.js';

export type {
  BrokerDeps,
  BrokerDeviceStore,
  BrokerEvents,
  BrokerStats,
  MqttBroker as Broker,
  ServiceCredentials,
} from './broker.js';
export type { StatusPayload } from './presence.js';
export { type DeviceTopics, deviceTopics } from './topics.js';

/** Creates the broker and opens its listeners. Close it with `close()`. */
export async function createBroker(config: MqttConfig, deps: BrokerDeps): Promise<MqttBroker> {
  const broker = new MqttBroker(config, deps);
  try {
    await broker.start();
  } catch (err) {
    await broker.close();
    throw err;
  }
  return broker;
}
