import dgram from 'node:dgram';
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
 * a minute, so recorders starting together never pick the same ports; another process may
 * still take them in between, which the recorder notices (ffmpeg fails) and retries.
 */
export async function freeUdpPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await bindUdp(0);
    if (!probe) continue;
    const base = probe.address().port & ~1;
    probe.close();
    const now = Date.now();
    if (Array.from({ length: count }, (_, i) => base + i).some((port) => isReserved(port, now))) continue;
    const held: dgram.Socket[] = [];
    for (let i = 0; i < count; i++) {
      const socket = await bindUdp(base + i);
      if (!socket) break;
      held.push(socket);
    }
    for (const socket of held) socket.close();
    if (held.length === count && base + count <= 65535) {
      for (let i = 0; i < count; i++) reserved.set(base + i, now + RESERVE_MS);
      return base;
    }
  }
  throw new Error('no free UDP port range on 127.0.0.1');
}

/**
 * True once someone (ffmpeg) has bound UDP `port`. On Linux this reads the kernel's socket
 * tables and touches nothing; elsewhere it tries to bind the port, which for that instant
 * can make ffmpeg's own bind fail (the recorder then restarts it).
 */
export async function isUdpPortTaken(port: number): Promise<boolean> {
  const bound = await boundUdpPorts();
  if (bound) return bound.has(port);
  const socket = await bindUdp(port);
  if (!socket) return true;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return false;
}

/** Local ports of every UDP socket in /proc/net/udp{,6}, or undefined where there is no /proc. */
async function boundUdpPorts(): Promise<Set<number> | undefined> {
  const tables = await Promise.all(
    ['/proc/net/udp', '/proc/net/udp6'].map((file) => readFile(file, 'utf8').catch(() => undefined)),
  );
  if (tables.every((table) => table === undefined)) return undefined;
  const ports = new Set<number>();
  for (const line of tables.join('\n').split('\n')) {
    // "  sl  local_address rem_address ...": local_address is <hex ip>:<hex port>.
    const match = /^\s*\d+:\s+[0-9A-F]+:([0-9A-F]{4})\s/i.exec(line);
    if (match) ports.add(Number.parseInt(match[1]!, 16));
  }
  return ports;
}
