import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { freeUdpPorts, isUdpPortTaken, watchUdpPort } from '../../recordings/ports.js';

function bind(port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

const close = (socket: dgram.Socket) => new Promise<void>((resolve) => socket.close(() => resolve()));

describe('recorder ports', () => {
  it('hands out an even, free range and tells when it is bound', async () => {
    const base = await freeUdpPorts(4);
    expect(base % 2).toBe(0);
    expect(await isUdpPortTaken(base)).toBe(false);
    const socket = await bind(base);
    expect(await isUdpPortTaken(base)).toBe(true);
    await close(socket);
    expect(await isUdpPortTaken(base)).toBe(false);
    // Reserved in this process: the next range does not overlap.
    const next = await freeUdpPorts(4);
    expect(Math.abs(next - base)).toBeGreaterThanOrEqual(4);
  });

  it.runIf(process.platform === 'linux')(
    'tells a socket bound after the watch began (ffmpeg) from one that already held the port',
    async () => {
      const base = await freeUdpPorts(2);
      const early = await bind(base);
      const boundSince = await watchUdpPort(base);
      // Taken, but by the socket that was there before: not ffmpeg listening.
      expect(await isUdpPortTaken(base)).toBe(true);
      expect(await boundSince()).toBe(false);
      await close(early);
      const late = await bind(base);
      expect(await boundSince()).toBe(true);
      await close(late);
    },
  );

  // Elsewhere the probe has to bind (see isUdpPortTaken).
  it.runIf(process.platform === 'linux')(
    'never holds the port it watches, so the watched process can always bind it',
    async () => {
      const base = await freeUdpPorts(2);
      let polling = true;
      const poller = (async () => {
        while (polling) await isUdpPortTaken(base);
      })();
      // Another process (as ffmpeg is) binding and releasing the port while the recorder polls:
      // with a probe that binds, some of these binds failed with EADDRINUSE.
      const failures = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', BINDER, String(base)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += chunk;
        });
        child.on('error', reject);
        child.on('exit', () => resolve(Number(out.trim())));
      });
      polling = false;
      await poller;
      expect(failures).toBe(0);
    },
    30_000,
  );
});

/** Binds 127.0.0.1:<port> and closes it 1000 times, printing how many binds failed. */
const BINDER = `
const dgram = require('node:dgram');
const port = Number(process.argv[1]);
let failures = 0;
(async () => {
  for (let i = 0; i < 1000; i++) {
    await new Promise((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => { failures++; socket.close(); resolve(); });
      socket.bind(port, '127.0.0.1', () => socket.close(resolve));
    });
  }
  console.log(failures);
})();
`;
