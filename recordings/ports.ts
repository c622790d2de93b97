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

/**
 * Finds `count` consecutive free loopback UDP ports starting at an even one (RTP on even,
 * RTCP on the next), by binding and releasing them. Another process may take them in
 * between; the recorder notices (ffmpeg fails) and retries.
 */
export async function freeUdpPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await bindUdp(0);
    if (!probe) continue;
    const base = probe.address().port & ~1;
    probe.close();
    const held: dgram.Socket[] = [];
    for (let i = 0; i < count; i++) {
      const socket = await bindUdp(base + i);
      if (!socket) break;
      held.push(socket);
    }
    for (const socket of held) socket.close();
    if (held.length === count && base + count <= 65535) return base;
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
