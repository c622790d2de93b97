import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EdgeConfig } from '../../edge-config/index.js';
import { CLI_RUN_MS, type CliResult, runCli } from './cli.js';
import { type RunningProcess, startCli, startServe } from './processes.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait-for.js';

export interface CameraRig {
  dir: string;
  dataDir: string;
  serve: Awaited<ReturnType<typeof startServe>>;
  /** http://127.0.0.1:<port> of the running server. */
  base: string;
  token: string;
  /** `lookout <args> --data-dir <rig's>` from the rig's directory (`input`: its stdin). */
  cli(args: string[], options?: { input?: string }): Promise<CliResult>;
  /** Edge config file of `cam1`. */
  edgeFile: string;
  /**
   * Starts (another) `lookout agent` for cam1 (or `options.edgeFile`), inside network namespace
   * `options.netns` if given; the caller stops it, or close() does.
   */
  startAgent(options?: { netns?: string; edgeFile?: string; args?: string[] }): RunningProcess;
  /** Resolves once `cam1` shows online. */
  waitOnline(): Promise<void>;
  /** Stops every agent started here and the server; removes the directory. */
  close(): Promise<void>;
}

/**
 * The real thing as processes: `lookout serve` on free ports in a temporary data directory,
 * camera `cam1` registered (edge config pointing at this server, stream settings overridden),
 * an API token. Used by end-to-end tests and benchmarks.
 */
export async function startCameraRig(
  options: {
    serveEnv?: NodeJS.ProcessEnv;
    /** Extra arguments for the server's node (e.g. `--cpu-prof`). */
    serveNodeArgs?: string[];
    video?: Partial<EdgeConfig['stream']['video']>;
    audio?: EdgeConfig['stream']['audio'];
    /** Address the broker binds and cameras' edge configs name (default loopback). */
    mqttHost?: string;
  } = {},
): Promise<CameraRig> {
  const tmp = tempDir('lookout-rig-');
  const dataDir = path.join(tmp.dir, 'data');
  const mqttHost = options.mqttHost ?? '127.0.0.1';
  const serve = await startServe(dataDir, options.serveEnv, mqttHost, options.serveNodeArgs);
  const cli = (args: string[], cliOptions: { input?: string } = {}) =>
    runCli([...args, '--data-dir', dataDir], {
      cwd: tmp.dir,
      env: { LOOKOUT_MQTT_PUBLIC_URL: `mqtt://${mqttHost}:${serve.mqtt}` },
      ...(cliOptions.input !== undefined ? { input: cliOptions.input } : {}),
    });
  const added = await cli(['device', 'add', 'cam1', '--name', 'Test pattern']);
  if (added.code !== 0) throw new Error(`device add failed: ${added.stderr}`);
  const token = (await cli(['token', 'create'])).stdout.trim();
  const edgeFile = path.join(tmp.dir, 'cam1.json');
  const edge = JSON.parse(readFileSync(edgeFile, 'utf8')) as EdgeConfig;
  edge.stream.video = { ...edge.stream.video, ...options.video };
  if (options.audio) edge.stream.audio = options.audio;
  writeFileSync(edgeFile, JSON.stringify(edge));
  const agents: RunningProcess[] = [];
  return {
    dir: tmp.dir,
    dataDir,
    serve,
    base: `http://127.0.0.1:${serve.http}`,
    token,
    cli,
    edgeFile,
    startAgent(agentOptions = {}) {
      const agent = startCli(
        ['agent', '--config', agentOptions.edgeFile ?? edgeFile, ...(agentOptions.args ?? [])],
        { cwd: tmp.dir, ...(agentOptions.netns ? { netns: agentOptions.netns } : {}) },
      );
      agents.push(agent);
      return agent;
    },
    async waitOnline() {
      await waitFor(async () => /cam1\s+Test pattern\s+online/.test((await cli(['device', 'list'])).stdout), {
        // Each try is a `lookout device list` process; the agent itself starts as one too.
        timeoutMs: 4 * CLI_RUN_MS,
        what: 'cam1 online',
      });
    },
    async close() {
      await Promise.all(agents.map((a) => a.stop()));
      await serve.stop();
      tmp.remove();
    },
  };
}
