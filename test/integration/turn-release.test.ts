import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraAgent } from '../../agent/index.js';
import { captureLog } from '../helpers/log.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

describe.runIf(hasFfmpeg)('TURN allocations of ended sessions (embedded TURN server, werift peers)', () => {
  let t: TestServer;
  let agent: CameraAgent;
  let token: string;
  const serverLog = captureLog('info');
  const allocations = (msg: string, device: string) =>
    serverLog.lines.filter((l) => l.msg === msg && l.device === device);

  beforeAll(async () => {
    t = await startTestServer({ 'media.lingerMs': 300 }, { log: serverLog.log });
    token = (await t.server.registry.tokens.create('test')).token;
    agent = await t.startCamera('cam1');
  });
  afterAll(() => t?.close());

  it("are released when the session ends (Refresh with lifetime 0), so sessions do not use up the camera's quota", async () => {
    // Each session the camera allocates a relay; werift alone would keep each for 600 s.
    for (let session = 1; session <= 3; session++) {
      const viewer = new WhepClient(t.httpUrl, token);
      expect((await viewer.play('cam1')).status).toBe(201);
      await waitFor(() => viewer.stats.keyframes > 0, {
        timeoutMs: 20_000,
        what: `video of session ${session}`,
      });
      await viewer.stop();
      await waitFor(() => !agent.streaming, { timeoutMs: 15_000, what: `session ${session} to end` });
    }
    const created = allocations('allocation created', 'cam1');
    expect(created.length).toBeGreaterThanOrEqual(3);
    await waitFor(() => allocations('allocation ended', 'cam1').length === created.length, {
      timeoutMs: 10_000,
      what: 'every allocation of the camera to end',
    });
    expect(allocations('allocation ended', 'cam1').every((l) => l.reason === 'refresh-0')).toBe(true);
  });
});
