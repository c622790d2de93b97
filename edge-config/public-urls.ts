import { networkInterfaces } from 'node:os';
import type { HttpConfig, MqttConfig, TurnConfig } from '../config/index.js';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * The broker URLs a camera should use: `mqtt.publicUrl` / `mqtt.publicWsUrl` when set,
 * else the bound host, else (bound to all interfaces) this machine's first
 * non-loopback IPv4 address, which is reachable from a LAN where `localhost` is not.
 * An unset `publicWsUrl` takes the host of `mqtt.publicUrl` when that is set (cameras
 * already reach the server there, as the TURN URLs assume), on `http.port` at `/mqtt`;
 * `wss://` when the HTTP listener has TLS of its own (`http.tls`), else `ws://` (behind a
 * TLS proxy, set `publicWsUrl`). `guessed` says a URL was not configured, so the CLI can suggest setting it.
 */
export function publicBrokerUrls(
  mqtt: MqttConfig,
  http: HttpConfig,
): { url: string; wsUrl: string; guessed: boolean } {
  const host = (bound: string) => (WILDCARD_HOSTS.has(bound) ? firstLanAddress() : bound);
  const url = mqtt.publicUrl ?? `mqtt://${bracket(host(mqtt.host))}:${mqtt.port}`;
  const wsHost = hostOf(mqtt.publicUrl) ?? host(http.host);
  // `/mqtt` is api/'s MQTT_WS_PATH, not imported: api/ loads Fastify, and edge-config/ is a contract.
  const scheme = http.tls.cert ? 'wss' : 'ws';
  const wsUrl = mqtt.publicWsUrl ?? `${scheme}://${bracket(wsHost)}:${http.port}/mqtt`;
  return { url, wsUrl, guessed: mqtt.publicUrl === undefined };
}

/**
 * The TURN URLs a camera should use: `turn.urls` when set; else, for the embedded server,
 * UDP and TCP on `turn.port` at the first of `turn.externalAddress`, the host of
 * `mqtt.publicUrl` (cameras already reach the server there), the bound `turn.host`, or
 * this machine's first LAN address. UDP comes first: clients that take only one URL
 * (werift) take the cheaper transport. Empty when `turn.mode` is `off`.
 */
export function publicTurnUrls(turn: TurnConfig, mqtt: MqttConfig): string[] {
  if (turn.mode === 'off') return [];
  if (turn.urls.length > 0) return [...turn.urls];
  if (turn.mode === 'external') return []; // the config schema requires urls; nothing to guess
  const host =
    turn.externalAddress ??
    hostOf(mqtt.publicUrl) ??
    (WILDCARD_HOSTS.has(turn.host) ? firstLanAddress() : turn.host);
  const authority = `${bracket(host)}:${turn.port}`;
  return [`turn:${authority}?transport=udp`, `turn:${authority}?transport=tcp`];
}

/**
 * This server's HTTP(S) URL as browsers and other nodes reach it, on `port` (the bound port):
 * the bound `http.host`, or (bound to all interfaces) this machine's first LAN address.
 * `cluster.publicHttpUrl` overrides it behind a proxy or NAT.
 */
export function publicHttpUrl(http: HttpConfig, port: number): string {
  const host = WILDCARD_HOSTS.has(http.host) ? firstLanAddress() : http.host;
  return `${http.tls.cert ? 'https' : 'http'}://${bracket(host)}:${port}`;
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    // URL keeps IPv6 brackets in hostname; strip them so bracket() adds exactly one pair.
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1') || undefined;
  } catch {
    return undefined;
  }
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
