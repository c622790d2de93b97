import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../devices/index.js';
import { parseEdgeConfig } from '../../edge-config/index.js';
import { CLI_RUN_MS, runCli, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

let tmp: ReturnType<typeof tempDir>;
let dataDir: string;
const cli = (args: string[], env?: NodeJS.ProcessEnv) =>
  runCli([...args, '--data-dir', dataDir], { cwd: tmp.dir, env });
/** A test's time limit in proportion to the `lookout` processes it runs (seconds each under load). */
const budget = (commands: number) => ({ timeout: (commands + 1) * CLI_RUN_MS });

beforeAll(() => {
  tmp = tempDir();
  dataDir = path.join(tmp.dir, 'data');
});
afterAll(() => tmp.remove());

describe('lookout CLI', () => {
  it('has --help on every command', budget(22), async () => {
    const commands = [
      [],
      ['serve'],
      ['agent'],
      ['device'],
      ['device', 'add'],
      ['device', 'list'],
      ['device', 'show'],
      ['device', 'rotate'],
      ['device', 'revoke'],
      ['device', 'rename'],
      ['device', 'delete'],
      ['token'],
      ['token', 'create'],
      ['token', 'list'],
      ['token', 'revoke'],
      ['user'],
      ['user', 'add'],
      ['user', 'list'],
      ['user', 'passwd'],
      ['user', 'remove'],
      ['user', 'grant'],
      ['user', 'revoke'],
      ['cluster'],
      ['cluster', 'status'],
    ];
    // Three at a time: each is a Node process compiling TypeScript, and the machine has two cores.
    for (let i = 0; i < commands.length; i += 3) {
      const batch = commands.slice(i, i + 3);
      const results = await Promise.all(batch.map((args) => runCli([...args, '--help'])));
      results.forEach((result, j) => {
        expect(result.code, batch[j]!.join(' ')).toBe(0);
        expect(result.stdout).toMatch(/^Usage: lookout/);
      });
    }
  });

  it('device add writes <id>.json with the credentials, readable only by its owner', budget(1), async () => {
    const result = await cli(['device', 'add', 'cam1', '--name', 'Porch camera']);
    expect(result.code).toBe(0);
    const file = path.join(tmp.dir, 'cam1.json');
    expect(result.stdout).toContain(`Edge config written to ${file}`);
    const edge = parseEdgeConfig(JSON.parse(readFileSync(file, 'utf8')));
    expect(edge).toMatchObject({
      deviceId: 'cam1',
      name: 'Porch camera',
      mqtt: { username: 'cam1', clientId: 'cam1' },
    });
    expect(edge.mqtt.password).toMatch(/^lkd_/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses to overwrite a file or re-add a device, with clear messages', budget(3), async () => {
    const again = await cli(['device', 'add', 'cam1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/cam1\.json already exists.*\[OUTPUT_EXISTS\]/);
    const dup = await cli(['device', 'add', 'cam1', '--out', 'other.json']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/device 'cam1' already exists.*\[DEVICE_EXISTS\]/);
    const bad = await cli(['device', 'add', 'Bad/Id']);
    expect(bad.stderr).toMatch(/invalid device id.*\[DEVICE_ID_INVALID\]/);
  });

  it('device add --json prints the edge config for scripts and writes no file', budget(1), async () => {
    const result = await cli(['device', 'add', 'cam2', '--json'], {
      LOOKOUT_MQTT_PUBLIC_URL: 'mqtt://cams.example.com:1883',
    });
    expect(result.code).toBe(0);
    const edge = parseEdgeConfig(JSON.parse(result.stdout));
    expect(edge.mqtt.url).toBe('mqtt://cams.example.com:1883');
    expect(existsSync(path.join(tmp.dir, 'cam2.json'))).toBe(false);
  });

  it('lists and shows devices, in text and JSON', budget(4), async () => {
    const list = await cli(['device', 'list']);
    expect(list.stdout).toMatch(
      /^ID\s+NAME\s+STATE\s+LAST SEEN\s+RECORDING\ncam1\s+Porch camera\s+offline\s+never\s+off\ncam2/m,
    );
    const json = JSON.parse((await cli(['device', 'list', '--json'])).stdout);
    expect(json.devices.map((d: { id: string }) => d.id)).toEqual(['cam1', 'cam2']);
    const show = await cli(['device', 'show', 'cam1', '--json']);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'cam1', online: false, revoked: false });
    const missing = await cli(['device', 'show', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no device 'nope'.*\[DEVICE_NOT_FOUND\]/);
  });

  it('sets the recording policy and explains what it cannot do', budget(12), async () => {
    const update = await cli(['device', 'update', 'cam1', '--record', 'on-demand', '--retention', '48']);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toContain('recording on-demand (idle), keep 48 h');
    expect((await cli(['recordings', 'start', 'cam1'])).stdout).toContain('on-demand (recording)');
    const show = JSON.parse((await cli(['device', 'show', 'cam1', '--json'])).stdout);
    expect(show.recording).toEqual({ mode: 'on-demand', active: true, maxAgeHours: 48 });
    expect((await cli(['device', 'update', 'cam1', '--record', 'sometimes'])).stderr).toMatch(
      /argument 'sometimes' is invalid. Allowed choices are off, continuous, on-demand/,
    );
    expect((await cli(['device', 'update', 'cam1'])).stderr).toMatch(/\[NOTHING_TO_UPDATE\]/);
    expect((await cli(['device', 'update', 'cam1', '--retention', '0'])).stderr).toMatch(
      /\[RETENTION_INVALID\]/,
    );
    expect((await cli(['recordings', 'start', 'cam2'])).stderr).toMatch(
      /start and stop apply to 'on-demand'.*\[RECORD_MODE_CONFLICT\]/,
    );
    expect((await cli(['recordings', 'list', 'cam1'])).stdout).toMatch(/Nothing recorded for cam1/);
    const pull = await cli(['recordings', 'pull', 'cam1', '--from', 'yesterday', '-o', 'x.mp4']);
    expect(pull.stderr).toMatch(/cannot read 'yesterday' as a time.*\[TIME_INVALID\]/);
    expect((await cli(['recordings', 'pull', 'cam1', '--from', '-1h', '-o', 'x.mp4'])).stderr).toMatch(
      /\[NO_RECORDINGS\]/,
    );
    expect((await cli(['device', 'update', 'cam1', '--record', 'off', '--retention', 'default'])).code).toBe(
      0,
    );
  });

  it(
    'renames and deletes devices, with or keeping their recordings; a deleted id can be added again',
    budget(9),
    async () => {
      expect((await cli(['device', 'add', 'gone', '--out', 'gone.json'])).code).toBe(0);
      expect((await cli(['device', 'rename', 'gone', 'Old shed'])).stdout).toContain(
        "Renamed gone to 'Old shed'.",
      );
      // A recording of it: a real file, indexed as the recorder would.
      const recordings = path.join(dataDir, 'recordings');
      const index = async (id: string, file: string) => {
        mkdirSync(path.join(recordings, id), { recursive: true });
        writeFileSync(path.join(recordings, id, file), Buffer.alloc(1000, 1));
        const registry = await openRegistry({ dataDir, create: false });
        try {
          await registry.recordings.insertComplete({
            deviceId: id,
            node: 'here',
            startMs: Date.now() - 60_000,
            endMs: Date.now() - 50_000,
            durationMs: 10_000,
            bytes: 1000,
            videoCodec: 'h264',
            audioCodec: null,
            path: `${id}/${file}`,
          });
        } finally {
          await registry.close();
        }
      };
      await index('gone', 'a.mp4');
      const deleted = await cli(['device', 'delete', 'gone', '--json']);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(JSON.parse(deleted.stdout)).toMatchObject({
        device: { id: 'gone', name: 'Old shed' },
        recordings: 'delete',
        deletedSegments: 1,
      });
      expect(existsSync(path.join(recordings, 'gone'))).toBe(false);
      expect((await cli(['device', 'show', 'gone'])).stderr).toMatch(/\[DEVICE_NOT_FOUND\]/);
      expect((await cli(['device', 'delete', 'gone'])).stderr).toMatch(/\[DEVICE_NOT_FOUND\]/);

      expect((await cli(['device', 'add', 'gone', '--out', 'gone.json', '--force'])).code).toBe(0);
      await index('gone', 'b.mp4');
      const kept = await cli(['device', 'delete', 'gone', '--keep-recordings']);
      expect(kept.stdout).toContain('Deleted gone; its recordings are kept');
      expect(existsSync(path.join(recordings, 'gone', 'b.mp4'))).toBe(true);
      // Kept recordings stay listed under the id although the device is gone.
      const listed = await cli(['recordings', 'list', 'gone', '--from', '-1h', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).segments).toHaveLength(1);
    },
  );

  it('rejects a bad config file naming the key, with exit code 2', budget(1), async () => {
    const file = path.join(tmp.dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ mqtt: { prot: 1 } }));
    const result = await cli(['device', 'list', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`'mqtt.prot': unknown key (from ${file})`);
  });
});

describe('lookout serve', () => {
  let serve: ChildProcess;
  let logs = '';
  let ports: { http: number; mqtt: number };

  beforeAll(async () => {
    serve = spawnCli(
      [
        'serve',
        '--data-dir',
        dataDir,
        '--http-host',
        '127.0.0.1',
        '--mqtt-host',
        '127.0.0.1',
        '--log-format',
        'json',
      ],
      {
        cwd: tmp.dir,
        env: { LOOKOUT_HTTP_PORT: '0', LOOKOUT_MQTT_PORT: '0' },
      },
    );
    serve.stderr!.on('data', (d) => {
      logs += d;
    });
    const ready = await waitFor(() => logs.split('\n').find((l) => l.includes('ready: web app')), {
      timeoutMs: 3 * CLI_RUN_MS,
      what: 'server ready',
    });
    const line = JSON.parse(ready) as { http: string; mqtt: string };
    ports = { http: Number(line.http.split(':').at(-1)), mqtt: Number(line.mqtt.split(':').at(-1)) };
  }, 4 * CLI_RUN_MS);
  afterAll(() => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
  });

  it(
    'accepts the flashed credentials, shows presence, and revoking from the CLI disconnects within a second',
    budget(8),
    async () => {
      const edge = parseEdgeConfig(JSON.parse(readFileSync(path.join(tmp.dir, 'cam1.json'), 'utf8')));
      const client = await new Promise<mqtt.MqttClient>((resolve, reject) => {
        const c = mqtt.connect(`mqtt://127.0.0.1:${ports.mqtt}`, {
          username: edge.mqtt.username,
          password: edge.mqtt.password,
          clientId: edge.mqtt.clientId,
          reconnectPeriod: 0,
        });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
      await waitFor(
        async () => (await cli(['device', 'list'])).stdout.match(/cam1\s+Porch camera\s+online\s+now/),
        { what: 'online in CLI', timeoutMs: 3 * CLI_RUN_MS },
      );

      const token = (await cli(['token', 'create', '--name', 'e2e'])).stdout.trim();
      expect(token).toMatch(/^lkt_/);
      const api = await fetch(`http://127.0.0.1:${ports.http}/api/devices`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(((await api.json()) as { devices: Array<{ online: boolean }> }).devices[0]!.online).toBe(true);

      const closed = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())));
      const revoke = await cli(['device', 'revoke', 'cam1']);
      const revokedAt = Date.now();
      expect(revoke.code).toBe(0);
      expect((await closed) - revokedAt).toBeLessThan(1000);
      client.end(true);
      await waitFor(
        async () => (await cli(['device', 'list'])).stdout.match(/cam1\s+Porch camera\s+revoked/),
        {
          what: 'revoked in CLI',
          timeoutMs: 3 * CLI_RUN_MS,
        },
      );
    },
  );

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs).toContain('"msg":"stopped"');
    expect(logs).not.toContain('handles still open');
  });
});
