import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

/**
 * The requirement is "within 1 s" (issue 9, item 9): the server checks every 250 ms. The bound
 * here leaves 500 ms for a machine so loaded that timers run late; a server that never ends
 * the sessions (the bug) fails it all the same.
 */
const END_BOUND_MS = 1500;

/**
 * Revoking an API token ends the WHEP sessions it opened, whether the token is revoked in this
 * process or by `lookout token revoke` in another: real server, real camera (the in-process
 * agent with ffmpeg), werift players counting RTP. A second player under another token is the
 * control: it keeps receiving while the revoked one receives nothing.
 */
describe.runIf(hasFfmpeg)('revoking an API token ends its WHEP sessions', () => {
  let t: TestServer;
  const players: WhepClient[] = [];

  beforeAll(async () => {
    t = await startTestServer();
    await t.startCamera('cam1');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(players.map((p) => p.pc.close()));
    await t?.close();
  });

  const player = async (name: string) => {
    const { token, info } = await t.server.registry.tokens.create(name);
    const client = new WhepClient(t.httpUrl, token);
    players.push(client);
    expect((await client.play('cam1')).status).toBe(201);
    return { client, id: info.id, token };
  };
  const open = (id: string) => t.server.media.sessionOwners().has(`t:${id}`);

  /** Revokes with `revoke`, then checks the revoked player is cut off and the control is not. */
  async function expectCutOff(revoke: (id: string) => Promise<void>): Promise<void> {
    const revoked = await player('revoked');
    const control = await player('control');
    await waitFor(() => revoked.client.stats.video > 30 && control.client.stats.video > 30, {
      timeoutMs: 20_000,
      what: 'video at both players',
    });
    await revoke(revoked.id);
    const revokedAt = performance.now();
    await waitFor(() => !open(revoked.id), { timeoutMs: END_BOUND_MS, what: 'the session to end' });
    const endedAfterMs = performance.now() - revokedAt;
    expect(endedAfterMs).toBeLessThan(END_BOUND_MS);
    // Its peer connection is closed on the server: nothing more is sent. Packets sent before may
    // still sit in the player's socket; once the control has read 10 more, those are read too.
    const controlAtEnd = control.client.stats.video;
    const received = () => revoked.client.stats.video + revoked.client.stats.audio;
    await waitFor(() => control.client.stats.video >= controlAtEnd + 10, {
      timeoutMs: 20_000,
      what: 'a drain',
    });
    const atEnd = received();
    // While the control receives 60 more video packets (a couple of seconds), the revoked player
    // gets none (2 allowed for scheduling; without the fix it gets about as many as the control).
    await waitFor(() => control.client.stats.video >= controlAtEnd + 70, {
      timeoutMs: 20_000,
      what: 'the control player to keep receiving',
    });
    expect(received() - atEnd).toBeLessThanOrEqual(2);
    expect(open(control.id)).toBe(true);
    // And the revoked token opens nothing new.
    const again = new WhepClient(t.httpUrl, revoked.token);
    players.push(again);
    expect((await again.play('cam1')).status).toBe(401);
    await control.client.stop();
  }

  it('revoked in the registry (this process): ends within 1 s, others keep playing', {
    timeout: 90_000,
  }, async () => {
    await expectCutOff(async (id) => {
      await t.server.registry.tokens.revoke(id);
    });
  });

  it('revoked by `lookout token revoke` in another process', { timeout: 90_000 }, async () => {
    await expectCutOff(async (id) => {
      const result = await runCli(['token', 'revoke', id, '--data-dir', t.dataDir]);
      expect(result.code, result.stderr).toBe(0);
    });
  });
});
