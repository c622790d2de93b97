import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 9 items 12 and 3: the mqtts listener offers only forward-secret AEAD suites, and a
// TLS socket that never completes its handshake is closed by the login deadline (was 120 s).
const hasOpenssl = requireTool('openssl', ['version']);
const tmp = tempDir();
let t: TestServer;
let port: number;
let cert: string;

beforeAll(async () => {
  if (!hasOpenssl) return;
  const generated = selfSignedCert(tmp.dir, 'rsa');
  cert = generated.certFile;
  const key = generated.keyFile;
  t = await startTestServer({
    'mqtt.tls.cert': cert,
    'mqtt.tls.key': key,
    'mqtt.tls.port': 0,
    'mqtt.connectTimeoutMs': 4000,
    'mqtt.connections.maxPendingPerAddress': 2,
  });
  port = t.server.broker.address('tls')!.port;
});
afterAll(async () => {
  await t?.close();
  tmp.remove();
});

/** Runs `openssl s_client` against the listener; resolves with its output, whatever its exit code. */
function sClient(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
      { timeout: 15_000 },
      (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
    child.stdin?.end(); // EOF right after the handshake: s_client then disconnects
  });
}

describe.runIf(hasOpenssl)('mqtts cipher policy', () => {
  it('refuses TLS 1.2 with AES128-SHA (no forward secrecy)', async () => {
    const out = await sClient(['-tls1_2', '-cipher', 'AES128-SHA']);
    expect(out).toMatch(/Cipher is \(NONE\)/);
    expect(out).not.toMatch(/Cipher is AES128-SHA/);
  });

  it('refuses TLS 1.1', async () => {
    const out = await sClient(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    expect(out).toMatch(/Cipher is \(NONE\)|alert protocol version|no protocols available/i);
    expect(out).not.toMatch(/New, TLSv1\.1/);
  });

  it('accepts TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256', async () => {
    const out = await sClient(['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    expect(out).toMatch(/Cipher is ECDHE-RSA-AES128-GCM-SHA256/);
  });

  it('accepts TLS 1.3', async () => {
    const out = await sClient(['-tls1_3']);
    expect(out).toMatch(/New, TLSv1\.3, Cipher is TLS_/);
  });

  it('still lets a device log in over mqtts', async () => {
    const secret = await t.addDevice('tls-cam');
    const client = await new Promise<mqtt.MqttClient>((resolve, reject) => {
      const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
        username: 'tls-cam',
        password: secret,
        clientId: 'tls-cam',
        ca: readFileSync(cert),
        reconnectPeriod: 0,
      });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });
});

describe.runIf(hasOpenssl)('TLS handshake deadline', () => {
  it('closes a TLS socket that never starts its handshake within the connect timeout', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    const ms = Date.now() - started;
    expect(ms).toBeGreaterThan(3500); // not refused: closed by the deadline (4 s here)
    expect(ms).toBeLessThan(15_000); // Node's default would be 120 s
    // The client can see the close before the server has run its own close handler.
    await waitFor(() => t.server.broker.pendingConnections === 0, { what: 'the pending slot released' });
  });

  it('counts TLS sockets before their handshake toward the per-address cap', async () => {
    const connect = () =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => {});
      });
    const held = [await connect(), await connect()];
    const started = Date.now();
    const extra = await connect();
    await new Promise((resolve) => extra.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(3000); // refused at once, not by the 4 s deadline
    for (const socket of held) socket.destroy();
  });
});
