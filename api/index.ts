/**
 * api/: the HTTP server. Health, the JSON API (bearer tokens), the browser app from
 * web/, and the WebSocket entry to the MQTT broker.
 */
import type { HttpConfig } from '../config/index.js';
import { type HttpDeps, HttpServer } from './server.js';

export { FirstAdminSetup, setupUrl } from './first-admin-setup.js';
export { deviceJson } from './routes-devices.js';
export type { WhepService } from './routes-whep.js';
export { type HttpDeps, type HttpServer, MQTT_WS_PATH, type MqttWebSocketHandler } from './server.js';
export type { WhepRoute, WhepRouting } from './whep-routing.js';

/** Creates the HTTP server and starts listening. */
export async function createHttpServer(config: HttpConfig, deps: HttpDeps): Promise<HttpServer> {
  const server = new HttpServer(config, deps);
  try {
    await server.listen();
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}
