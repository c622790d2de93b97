import { networkInterfaces } from 'node:os';
import type { HttpConfig, MqttConfig } from '../config/index.js';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * The broker URLs a camera should use: `mqtt.publicUrl` / `mqtt.publicWsUrl` when set,
 * else the bound host, else (bound to all interfaces) this machine's first
 * non-loopback IPv4 address, which is reachable from a LAN where `localhost` is not.
 * `guessed` says a URL was not configured, so the CLI can suggest setting it.
 */
export function publicBrokerUrls(
  mqtt: MqttConfig,
  http: HttpConfig,
): { url: string; wsUrl: string; guessed: boolean } {
  const host = (bound: string) => (WILDCARD_HOSTS.has(bound) ? firstLanAddress() : bound);
  const url = mqtt.publicUrl ?? `mqtt://${bracket(host(mqtt.host))}:${mqtt.port}`;
  const wsUrl = mqtt.publicWsUrl ?? `ws://${bracket(host(http.host))}:${http.port}/mqtt`;
  return { url, wsUrl, guessed: mqtt.publicUrl === undefined };
}

function firstLanAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return 'localhost';
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
