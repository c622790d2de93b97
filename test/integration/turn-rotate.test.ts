import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TurnTestClient } from '../helpers/turn-client.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * `device rotate` voids the TURN credentials issued before it (issue 9, item 10): the embedded
 * TURN server of a real `lookout serve`, REST credentials as offers carry them, the rotate made
 * in this process and by the CLI in another. Before the fix an old credential kept allocating
 * relays until it expired (24 h by default).
 */
describe('TURN credentials after device rotate', () => {
  let t: TestServer;
  const clients: TurnTestClient[] = [];

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await t?.close();
  });

  /** The credential an offer to `device` would carry now. */
  const credential = async (device: string) => {
    const generation = (await t.server.registry.devices.require(device)).secretGeneration;
    const [ice] = t.server.turn.deviceIceServers(device, generation);
    return { username: ice!.username!, password: ice!.credential! };
  };
  const client = async (creds: { username: string; password: string }) => {
    const c = await TurnTestClient.open(
      { ip: '127.0.0.1', port: t.server.relay!.address().udp.port },
      'udp',
      creds,
    );
    clients.push(c);
    return c;
  };
  const allocations = () => t.server.relay!.stats().allocations;

  async function expectOldCredentialVoided(device: string, rotate: () => Promise<void>): Promise<void> {
    await t.addDevice(device);
    const old = await credential(device);
    const before = await client(old);
    expect((await before.allocate()).code).toBe(0);
    const baseline = allocations();

    await rotate();
    // A new Allocate with the old credential is refused at once (the registry is read per request)...
    expect((await (await client(old)).allocate()).code).toBe(403);
    // ...while the new credential works, and its allocation survives what follows.
    const fresh = await credential(device);
    expect(fresh.username).not.toBe(old.username);
    const after = await client(fresh);
    expect((await after.allocate()).code).toBe(0);
    // The allocation of the old credential ends (the server polls the change log every 250 ms).
    await waitFor(() => allocations() === baseline, { what: 'the old allocation to end' });
    const refresh = await before.refresh();
    expect([403, 437]).toContain(refresh.code); // 437: it is gone; never 0
    expect((await after.refresh()).code).toBe(0);
    await after.refresh(0);
  }

  it('rotated in the registry: old credentials are refused and their allocations end', {
    timeout: 60_000,
  }, async () => {
    await expectOldCredentialVoided('cam1', async () => {
      await t.server.registry.devices.rotate('cam1');
    });
  });

  it('rotated by `lookout device rotate` in another process', { timeout: 60_000 }, async () => {
    await expectOldCredentialVoided('cam2', async () => {
      const result = await runCli(['device', 'rotate', 'cam2', '--data-dir', t.dataDir]);
      expect(result.code, result.stderr).toBe(0);
    });
  });
});
