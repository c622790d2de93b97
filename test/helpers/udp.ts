import { createSocket } from 'node:dgram';

/** Whether 127.0.0.1:`port` (UDP) can be bound right now, i.e. nobody holds it. */
export async function canBindUdp(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return ok;
}
