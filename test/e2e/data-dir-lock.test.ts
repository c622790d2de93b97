import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIdOf } from '../../config/index.js';
import { openRegistry, type Registry } from '../../devices/index.js';
import { parseEdgeConfig } from '../../edge-config/index.js';
import { runCli } from '../helpers/cli.js';
import { isAlive, type RunningProcess, startCli, startServe } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Issue 9 item 6: a second `lookout serve` on the same data directory refuses before it
 * touches anything, naming the first one's PID; after the first is killed with SIGKILL, a new
 * server starts (the kernel dropped the lock with the process).
 */
describe('one server per data directory', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;
  const started: RunningProcess[] = [];

  beforeAll(() => {
    tmp = tempDir();
    dataDir = path.join(tmp.dir, 'data');
  });
  afterAll(async () => {
    for (const proc of started) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    tmp.remove();
  });

  it('a second server refuses, naming the first PID, and changes nothing; after kill -9 a new one starts', {
    timeout: 180_000,
  }, async () => {
    const add = await runCli(['device', 'add', 'cam1', '--data-dir', dataDir, '--json'], { cwd: tmp.dir });
    expect(add.code, add.stderr).toBe(0);
    const edge = parseEdgeConfig(JSON.parse(add.stdout));

    const first = await startServe(dataDir);
    started.push(first);
    const camera = mqtt.connect(`mqtt://127.0.0.1:${first.mqtt}`, {
      username: edge.mqtt.username,
      password: edge.mqtt.password,
      clientId: edge.mqtt.clientId,
      reconnectPeriod: 0,
    });
    let registry: Registry | undefined;
    try {
      registry = await openRegistry({ dataDir, create: false });
      const reg = registry;
      await waitFor(async () => (await reg.devices.get('cam1'))?.online, {
        timeoutMs: 30_000,
        what: 'cam1 online',
      });
      // A segment left `writing`: a server's startup recovery would delete this row (its file is missing).
      const segment = await reg.recordings.open({
        deviceId: 'cam1',
        node: nodeIdOf({}),
        startMs: Date.now(),
        path: path.join(dataDir, 'recordings', 'cam1', 'not-there.mp4'),
        videoCodec: 'h264',
        audioCodec: null,
      });

      // Other ports (all free ones), same data directory.
      const second = startCli(['serve', '--data-dir', dataDir, '--http-host', '127.0.0.1'], {
        env: { LOOKOUT_HTTP_PORT: '0', LOOKOUT_MQTT_PORT: '0', LOOKOUT_TURN_PORT: '0' },
      });
      started.push(second);
      // Without the lock it would start (free ports): stop waiting then too, and fail below.
      await waitFor(() => second.child.exitCode !== null || second.logs().includes('ready: web app'), {
        timeoutMs: 60_000,
        what: 'the second server to exit',
      });
      expect(second.child.exitCode, second.logs()).toBe(1);
      expect(second.logs()).toContain(`in use by another lookout serve (pid ${first.child.pid})`);
      expect(second.logs()).toContain('[DATA_DIR_LOCKED]');
      expect(second.logs().trim().split('\n')).toHaveLength(1);

      // Untouched: the camera is still online (no presence reset), the writing segment still indexed
      // (no recovery), and the first server still serves its camera.
      expect((await reg.devices.get('cam1'))?.online).toBe(true);
      expect((await reg.recordings.get(segment))?.state).toBe('writing');
      expect(camera.connected).toBe(true);
      expect(isAlive(first.child.pid!)).toBe(true);
      const list = await runCli(['device', 'list', '--data-dir', dataDir], { cwd: tmp.dir });
      expect(list.stdout).toMatch(/cam1\s+cam1\s+online/);

      // kill -9: no clean-up ran, the PID file is stale; the lock went with the process.
      const killed = new Promise((resolve) => first.child.once('exit', resolve));
      first.child.kill('SIGKILL');
      await killed;
      const third = await startServe(dataDir);
      started.push(third);
      // This one did start up for real: its recovery removed the orphan row, presence was reset.
      await waitFor(async () => (await reg.recordings.get(segment)) === undefined, {
        what: 'recovery by the new server',
      });
      expect(await third.stop()).toBe(0);
    } finally {
      camera.end(true);
      await registry?.close();
    }
  });
});
