import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Where fixed port ranges for tests are taken from: above the well-known services, and outside
 * the kernel's ephemeral range, so no socket the OS hands out (port 0) lands in a range while a
 * test uses it.
 */
function windows(): Array<[number, number]> {
  let [low, high] = [32_768, 60_999];
  try {
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    [low, high] = [Number(range[0]), Number(range[1])];
  } catch {
    // not Linux: assume the usual range
  }
  return (
    [
      [10_000, low - 1],
      [high + 1, 65_535],
    ] as Array<[number, number]>
  ).filter(([from, to]) => to - from > 1000);
}

function bindUdp(port: number): Promise<Socket | undefined> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    // 0.0.0.0 conflicts with a socket on any address, loopback included.
    socket.bind({ port, address: '0.0.0.0', exclusive: true }, () => resolve(socket));
  });
}

function listenTcp(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => resolve(server));
  });
}

/**
 * The first of `count` consecutive ports that are free right now (UDP, and TCP too with `tcp`).
 * For components that take a port range in their configuration (media ports, TURN relays, an
 * RTSP server): deriving one from the PID collides when test processes run side by side, and a
 * random one may be in use. The range is probed by binding every port, then released for the
 * caller to bind (a race only with a process that picks fixed ports itself).
 */
export async function freePortRange(count: number, options: { tcp?: boolean } = {}): Promise<number> {
  const candidates = windows();
  for (let attempt = 0; attempt < 50; attempt++) {
    const [from, to] = candidates[attempt % candidates.length]!;
    const start = from + Math.floor(Math.random() * (to - from + 1 - count));
    const held: Array<Socket | Server> = [];
    let free = true;
    for (let port = start; port < start + count && free; port++) {
      const udp = await bindUdp(port);
      const tcp = options.tcp ? await listenTcp(port) : undefined;
      if (udp) held.push(udp);
      if (tcp) held.push(tcp);
      free = udp !== undefined && (!options.tcp || tcp !== undefined);
    }
    await Promise.all(held.map((h) => new Promise<void>((resolve) => h.close(() => resolve()))));
    if (free) return start;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
