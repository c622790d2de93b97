import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

function bindUdp(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

/** Ports handed out recently, until their ffmpeg has surely bound them (or failed). */
const reserved = new Map<number, number>();
const RESERVE_MS = 60_000;

function isReserved(port: number, now: number): boolean {
  const until = reserved.get(port);
  if (until === undefined) return false;
  if (until > now) return true;
  reserved.delete(port);
  return false;
}

/**
 * Finds `count` consecutive free loopback UDP ports starting at an even one (RTP on even,
 * RTCP on the next), by binding and releasing them. They stay reserved in this process for
 * a minute, so recorders starting together never pick the same ports.
 *
 * Between this check and ffmpeg's own bind (up to seconds on a loaded machine) another
 * socket may take a port: "udp bind failed: Address already in use" on a recording's first
 * start (issue 9, item 7). Most sockets (werift's ICE candidates, the recorder's own sender,
 * every client socket) bind port 0 and get a port from the kernel's ephemeral range, so the
 * ports are chosen below that range (Linux: /proc/sys/net/ipv4/ip_local_port_range), where
 * only an explicit bind can collide; the recorder also checks them again just before it
 * starts ffmpeg and retries with other ports when ffmpeg cannot bind.
 */
export async function freeUdpPorts(count: number): Promise<number> {
  const below = belowEphemeral(count);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = below
      ? below.min + 2 * Math.floor((Math.random() * (below.max - below.min)) / 2)
      : await kernelPort();
    if (base === undefined) continue;
    const now = Date.now();
    if (Array.from({ length: count }, (_, i) => base + i).some((port) => isReserved(port, now))) continue;
    const held: dgram.Socket[] = [];
    for (let i = 0; i < count; i++) {
      const socket = await bindUdp(base + i);
      if (!socket) break;
      held.push(socket);
    }
    await Promise.all(held.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    if (held.length === count && base + count <= 65535) {
      for (let i = 0; i < count; i++) reserved.set(base + i, now + RESERVE_MS);
      return base;
    }
  }
  throw new Error('no free UDP port range on 127.0.0.1');
}

/** An even port the kernel hands out for port 0 (where the ephemeral range is unknown). */
async function kernelPort(): Promise<number | undefined> {
  const probe = await bindUdp(0);
  if (!probe) return undefined;
  const base = probe.address().port & ~1;
  probe.close();
  return base;
}

/** Lowest port recorders use below the ephemeral range (above the usual service ports). */
const LOW_PORT = 20_000;

/** [min, max) for a base port of `count` ports below the kernel's ephemeral range, if there is room. */
function belowEphemeral(count: number): { min: number; max: number } | undefined {
  let first: number;
  try {
    first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
  const max = first - count;
  return Number.isInteger(first) && max - LOW_PORT >= 1000 ? { min: LOW_PORT, max } : undefined;
}

/** Whether any of `count` ports from `base` is bound by anyone now (checked just before ffmpeg starts). */
export async function anyUdpPortTaken(base: number, count: number): Promise<boolean> {
  for (let i = 0; i < count; i++) if (await isUdpPortTaken(base + i)) return true;
  return false;
}

/**
 * True once someone (ffmpeg) has bound UDP `port`. On Linux this reads the kernel's socket
 * tables and touches nothing; elsewhere it tries to bind the port, which for that instant
 * can make ffmpeg's own bind fail (the recorder then restarts it).
 */
export async function isUdpPortTaken(port: number): Promise<boolean> {
  const bound = await udpSockets();
  if (bound) return bound.has(port);
  const socket = await bindUdp(port);
  if (!socket) return true;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return false;
}

/**
 * Watches `port` for a socket that was not bound to it when the watch began: resolves a
 * check that says whether one is there now. With a socket already on the port (another
 * process took it), "taken" alone would pass for ffmpeg listening although ffmpeg's bind
 * is about to fail; a new socket (inode) is ffmpeg's. Without /proc: isUdpPortTaken.
 */
export async function watchUdpPort(port: number): Promise<() => Promise<boolean>> {
  const before = (await udpSockets())?.get(port) ?? new Set<string>();
  return async () => {
    const now = await udpSockets();
    if (!now) return isUdpPortTaken(port);
    return [...(now.get(port) ?? [])].some((inode) => !before.has(inode));
  };
}

/** Local port -> socket inodes of every UDP socket in /proc/net/udp{,6}; undefined where there is no /proc. */
async function udpSockets(): Promise<Map<number, Set<string>> | undefined> {
  const tables = await Promise.all(
    ['/proc/net/udp', '/proc/net/udp6'].map((file) => readFile(file, 'utf8').catch(() => undefined)),
  );
  if (tables.every((table) => table === undefined)) return undefined;
  const sockets = new Map<number, Set<string>>();
  for (const line of tables.join('\n').split('\n')) {
    // "sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ...";
    // local_address is <hex ip>:<hex port>.
    const fields = line.trim().split(/\s+/);
    const match = /^[0-9A-F]+:([0-9A-F]{4})$/i.exec(fields[1] ?? '');
    if (!match || !/^\d+:$/.test(fields[0] ?? '')) continue;
    const port = Number.parseInt(match[1]!, 16);
    const inodes = sockets.get(port) ?? new Set<string>();
    inodes.add(fields[9] ?? '');
    sockets.set(port, inodes);
  }
  return sockets;
}
