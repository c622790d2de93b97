import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLog } from '../helpers/log.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { fileFingerprint, selfSignedCert, servedFingerprint } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 12 item 7: HTTPS (API, web app, MQTT over wss) and the mqtts listener, with a
// certificate replaced on disk (by rename and in place) picked up without a restart.
const hasOpenssl = requireTool('openssl', ['version']);
const tmp = tempDir();
const served = {
  cert: path.join(tmp.dir, 'served', 'cert.pem'),
  key: path.join(tmp.dir, 'served', 'key.pem'),
};
const capture = captureLog('info');
let t: TestServer;
let httpsPort: number;
let mqttsPort: number;
/** The pair the server starts with (its own copy is in served/). */
let a: ReturnType<typeof newPair>;

/** A fresh self-signed pair in its own directory. */
function newPair(name: string): { certFile: string; keyFile: string; fingerprint: string } {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir);
  const pair = selfSignedCert(dir);
  return { ...pair, fingerprint: fileFingerprint(pair.certFile) };
}

/** GET /healthz over HTTPS through `agent`, trusting only `ca` (an agent pools sockets per CA too). */
function healthz(agent: https.Agent, ca: Buffer): Promise<{ status: number; reused: boolean; peer: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: httpsPort,
        path: '/healthz',
        servername: 'localhost',
        ca,
        agent,
      },
      (res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate().fingerprint256 ?? '';
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, peer }));
      },
    );
    req.once('error', reject);
  });
}

function connectMqtt(
  url: string,
  caFile: string,
  auth: { username: string; password: string; clientId: string },
) {
  return new Promise<MqttClient>((resolve, reject) => {
    const client = mqtt.connect(url, {
      ...auth,
      ca: readFileSync(caFile),
      servername: 'localhost',
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** A message published on `client` comes back to it (the connection works end to end). */
async function roundTrip(client: MqttClient, topic: string): Promise<void> {
  const body = `${topic}-${Date.now()}`;
  const received = new Promise<void>((resolve) =>
    client.on('message', (t, payload) => t === topic && String(payload) === body && resolve()),
  );
  await client.subscribeAsync(topic);
  await client.publishAsync(topic, body);
  await received;
}

const bothServe = async (fingerprint: string) =>
  (await servedFingerprint(httpsPort)) === fingerprint &&
  (await servedFingerprint(mqttsPort)) === fingerprint;

const notReloaded = (configKey: string) =>
  capture.lines.filter(
    (l) =>
      l.tls === configKey &&
      l.msg === 'TLS certificate not reloaded: keeping the one in service until the files change again',
  );

beforeAll(async () => {
  if (!hasOpenssl) return;
  mkdirSync(path.dirname(served.cert));
  a = newPair('a');
  copyFileSync(a.certFile, served.cert);
  copyFileSync(a.keyFile, served.key);
  const files = { cert: served.cert, key: served.key };
  t = await startTestServer(
    {
      'http.tls.cert': files.cert,
      'http.tls.key': files.key,
      'mqtt.tls.cert': files.cert,
      'mqtt.tls.key': files.key,
      'mqtt.tls.port': 0,
    },
    { log: capture.log },
  );
  httpsPort = t.server.http.address().port;
  mqttsPort = t.server.broker.address('tls')!.port;
});
afterAll(async () => {
  await t?.close();
  tmp.remove();
});

describe.runIf(hasOpenssl)('HTTPS and mqtts with certificates reloaded from disk', () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  let held: MqttClient;
  afterAll(async () => {
    agent.destroy();
    await held?.endAsync(true);
  });

  it('serves the configured certificate on HTTPS, wss and mqtts, and logs it with its expiry', async () => {
    const res = await healthz(agent, readFileSync(a.certFile));
    expect(res).toMatchObject({ status: 200, peer: a.fingerprint });
    expect(await servedFingerprint(mqttsPort)).toBe(a.fingerprint);
    const secret = await t.addDevice('wss-cam');
    const device = await connectMqtt(`wss://127.0.0.1:${httpsPort}/mqtt`, a.certFile, {
      username: 'wss-cam',
      password: secret,
      clientId: 'wss-cam',
    });
    await waitFor(() => t.server.broker.isOnline('wss-cam'), { what: 'wss-cam online over wss' });
    await device.endAsync();
    for (const key of ['http.tls', 'mqtt.tls']) {
      const loaded = capture.lines.find((l) => l.tls === key && l.msg === 'TLS certificate loaded');
      expect(loaded).toMatchObject({ fingerprint256: a.fingerprint, subject: 'CN=localhost' });
      // selfSignedCert's certificates are valid for a day: within the 14-day warning.
      expect(
        capture.lines.some((l) => l.tls === key && l.level === 40 && /expires in 0 days/.test(String(l.msg))),
      ).toBe(true);
    }
    expect(t.server.http.tlsCertificate()?.fingerprint256).toBe(a.fingerprint);
  });

  it('picks up a pair renamed over the files, and open connections keep working', async () => {
    // Connections made before the swap: a keep-alive HTTPS socket and an mqtts session.
    const creds = t.server.broker.serviceCredentials('held');
    held = await connectMqtt(`mqtts://127.0.0.1:${mqttsPort}`, a.certFile, creds);
    await roundTrip(held, 'lookout/held/before');

    const b = newPair('b');
    copyFileSync(b.certFile, `${served.cert}.new`);
    copyFileSync(b.keyFile, `${served.key}.new`);
    renameSync(`${served.key}.new`, served.key);
    renameSync(`${served.cert}.new`, served.cert);
    await waitFor(() => bothServe(b.fingerprint), {
      what: 'the renamed certificate served',
      timeoutMs: 10_000,
    });

    const again = await healthz(agent, readFileSync(a.certFile));
    expect(again).toMatchObject({ status: 200, reused: true, peer: a.fingerprint });
    expect(held.connected).toBe(true);
    await roundTrip(held, 'lookout/held/after');
    // New clients verify the new certificate.
    const fresh = await healthz(new https.Agent(), readFileSync(b.certFile));
    expect(fresh).toMatchObject({ status: 200, reused: false, peer: b.fingerprint });
    const client = await connectMqtt(
      `mqtts://127.0.0.1:${mqttsPort}`,
      b.certFile,
      t.server.broker.serviceCredentials('b'),
    );
    await client.endAsync();
    expect(t.server.broker.tlsCertificate()?.fingerprint256).toBe(b.fingerprint);
  });

  it('picks up a pair overwritten in place', async () => {
    const c = newPair('c');
    writeFileSync(served.cert, readFileSync(c.certFile));
    writeFileSync(served.key, readFileSync(c.keyFile));
    await waitFor(() => bothServe(c.fingerprint), {
      what: 'the overwritten certificate served',
      timeoutMs: 10_000,
    });
    for (const key of ['http.tls', 'mqtt.tls']) {
      expect(
        capture.lines.some(
          (l) => l.tls === key && l.msg === 'TLS certificate reloaded' && l.fingerprint256 === c.fingerprint,
        ),
      ).toBe(true);
    }
  });

  it('keeps serving the old certificate while the key does not match, then takes the completed pair', async () => {
    const before = await servedFingerprint(httpsPort);
    const d = newPair('d');
    const errorsBefore = notReloaded('http.tls').length + notReloaded('mqtt.tls').length;
    writeFileSync(served.cert, readFileSync(d.certFile)); // the key is still the old one
    await waitFor(() => notReloaded('http.tls').length > 0 && notReloaded('mqtt.tls').length > 0, {
      what: 'the mismatch logged by both listeners',
      timeoutMs: 10_000,
    });
    expect(notReloaded('http.tls').length + notReloaded('mqtt.tls').length).toBeGreaterThan(errorsBefore);
    expect(notReloaded('http.tls').at(-1)).toMatchObject({ code: 'TLS_KEY_MISMATCH', level: 50 });
    expect(await servedFingerprint(httpsPort)).toBe(before);
    expect(await servedFingerprint(mqttsPort)).toBe(before);
    writeFileSync(served.key, readFileSync(d.keyFile));
    await waitFor(() => bothServe(d.fingerprint), { what: 'the completed pair served', timeoutMs: 10_000 });
  });
});

describe.runIf(hasOpenssl)('TLS files checked at start', () => {
  it('refuses a key that is not the certificate’s, and a missing file, with coded errors', async () => {
    const x = newPair('x');
    const y = newPair('y');
    await expect(
      startTestServer({ 'http.tls.cert': x.certFile, 'http.tls.key': y.keyFile }),
    ).rejects.toMatchObject({
      code: 'TLS_KEY_MISMATCH',
    });
    await expect(
      startTestServer({
        'mqtt.tls.cert': x.certFile,
        'mqtt.tls.key': path.join(tmp.dir, 'missing.pem'),
        'mqtt.tls.port': 0,
      }),
    ).rejects.toMatchObject({ code: 'TLS_FILE_UNREADABLE' });
  });
});
