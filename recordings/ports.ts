import dgram from 'node:dgram';

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

/** True once someone (ffmpeg) has bound 127.0.0.1:port. */
export async function isUdpPortTaken(port: number): Promise<boolean> {
  const socket = await bindUdp(port);
  if (!socket) return true;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return false;
}
