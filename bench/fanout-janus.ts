/**
 * bench:fanout's peer: Janus (Debian's `janus`, 1.1.x) with only its streaming plugin and HTTP
 * transport, in a temporary directory with its own configuration: one RTP mountpoint (H.264
 * on a free UDP port, fed by the bench), the HTTP API on a free loopback port, no STUN server,
 * ICE on loopback, IPv4 only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePortRange } from '../test/helpers/ports.js';
import { waitFor } from '../test/helpers/wait-for.js';

export interface JanusServer {
  /** Base of the HTTP API, e.g. http://127.0.0.1:8088/janus */
  api: string;
  /** The streaming mountpoint's id and the UDP port its video is sent to (RTP, H.264, payload type 96). */
  mountpoint: number;
  videoPort: number;
  child: ChildProcess;
  version: string;
  /** Everything Janus logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

const LIB = '/usr/lib/x86_64-linux-gnu/janus';

/** The version line of `janus --version`, or undefined when Janus is not installed. */
export function janusVersion(): string | undefined {
  // `janus --version` prints its version and exits with status 1.
  const run = spawnSync('janus', ['--version'], { encoding: 'utf8' });
  return `${run.stdout ?? ''}${run.stderr ?? ''}`.match(/Janus version: \d+ \(([\d.]+)\)/)?.[1];
}

export async function startJanus(options: {
  httpPort: number;
  rtpPorts: [number, number];
}): Promise<JanusServer> {
  const version = janusVersion();
  if (!version) throw new Error('bench:fanout compares with Janus: apt-get install janus');
  const dir = mkdtempSync(path.join(tmpdir(), 'lookout-bench-janus-'));
  for (const sub of ['conf', 'plugins', 'transports', 'events', 'loggers']) mkdirSync(path.join(dir, sub));
  // Only the streaming plugin and the HTTP transport are loaded: the folders hold nothing else.
  symlinkSync(`${LIB}/plugins/libjanus_streaming.so`, path.join(dir, 'plugins', 'libjanus_streaming.so'));
  symlinkSync(`${LIB}/transports/libjanus_http.so`, path.join(dir, 'transports', 'libjanus_http.so'));
  const videoPort = await freePortRange(1);
  const mountpoint = 1;
  writeFileSync(
    path.join(dir, 'conf', 'janus.jcfg'),
    `general: {
  configs_folder = "${dir}/conf"
  plugins_folder = "${dir}/plugins"
  transports_folder = "${dir}/transports"
  events_folder = "${dir}/events"
  loggers_folder = "${dir}/loggers"
  debug_level = 4
  session_timeout = 120
}
certificates: {
}
media: {
  ipv6 = false
  rtp_port_range = "${options.rtpPorts[0]}-${options.rtpPorts[1]}"
}
nat: {
  nice_debug = false
  ice_enforce_list = "lo"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
}
`,
  );
  writeFileSync(
    path.join(dir, 'conf', 'janus.transport.http.jcfg'),
    `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${options.httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
`,
  );
  writeFileSync(
    path.join(dir, 'conf', 'janus.plugin.streaming.jcfg'),
    `general: {
  string_ids = false
  events = false
}
camera: {
  type = "rtp"
  id = ${mountpoint}
  description = "bench camera"
  media = (
    {
      type = "video"
      mid = "v"
      label = "video"
      port = ${videoPort}
      pt = 96
      codec = "h264"
      fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
    }
  )
}
`,
  );
  const child = spawn('janus', ['-C', path.join(dir, 'conf', 'janus.jcfg'), '-F', path.join(dir, 'conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => {
    log += d;
  });
  child.stderr!.on('data', (d) => {
    log += d;
  });
  const api = `http://127.0.0.1:${options.httpPort}/janus`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`janus exited (${child.exitCode}):\n${log}`);
        const res = await fetch(`${api}/info`).catch(() => undefined);
        return res?.ok === true;
      },
      { timeoutMs: 20_000, what: 'janus HTTP API' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { api, mountpoint, videoPort, child, version, logs: () => log, stop };
}
