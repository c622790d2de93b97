import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isAlive } from './processes.js';

/**
 * A camera behind a NAT router, built from network namespaces and veth pairs:
 *
 *   root namespace (server, TURN, browser)      router namespace            camera namespace
 *   <p>s  serverIp/30  <------ veth ------>  <p>w wanIp/30 | <p>l lanGw/30 <-- veth --> <p>c cameraIp/30
 *                                            MASQUERADE out <p>w, FORWARD filter
 *
 * The root namespace learns only the router's WAN /30, never the camera's subnet, so the
 * server can reach the camera only through connections the camera opened through the NAT.
 * Every firewall rule lives in the router namespace: the root namespace's iptables are
 * never touched. Names carry the creating PID so leftovers of a killed run can be found.
 */
export interface NatLab {
  /** Server side of the link, in the root namespace: where lookout serve and the TURN server listen. */
  readonly serverIp: string;
  /** The router's WAN address: what the server sees as the camera's address. */
  readonly wanIp: string;
  /** The camera's private address, unreachable from the root namespace. */
  readonly cameraIp: string;
  readonly cameraNs: string;
  readonly routerNs: string;
  /**
   * Replaces the router's filter: the camera may open connections to `serverIp` only on the
   * listed ports (replies pass); everything else it sends is dropped and counted. `open: true`
   * lets everything through (plain NAT). Counters restart at zero.
   */
  firewall(rules: { udp?: number[]; tcp?: number[] } | { open: true }): void;
  /** Packet counts of the current filter: `udp:<port>`, `tcp:<port>`, `dropped`, `open`. */
  counters(): Record<string, number>;
  /** Deletes both namespaces (and with them the veths, rules and NAT state). Idempotent. */
  close(): void;
}

const PREFIX = 'lkn';

/** Whether namespaces can be built here: root and `ip`/`iptables`. In CI missing ones fail the run. */
export function requireNetns(): boolean {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  for (const tool of ['ip', 'iptables', 'iptables-save']) {
    const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
      problems.push(`'${tool}' missing`);
  }
  if (problems.length === 0) return true;
  const message = `network-namespace tests need root, ip and iptables: ${problems.join(', ')}`;
  if (process.env.CI) throw new Error(`${message}; CI must not skip tests`);
  console.warn(`\n*** SKIPPING network-namespace tests: ${message} ***\n`);
  return false;
}

/** Builds the lab; the caller must close() it (afterAll). Removes leftovers of killed runs first. */
export function createNatLab(): NatLab {
  removeLeftovers();
  // Interface names are at most 15 bytes: lkn + pid in base 36 (<= 5) + '-' + 2 random + 1.
  const id = `${PREFIX}${process.pid.toString(36)}-${randomBytes(1).toString('hex')}`;
  const routerNs = `${id}r`;
  const cameraNs = `${id}c`;
  const base = freeSubnet();
  const serverIp = `${base}.1`;
  const wanIp = `${base}.2`;
  const lanGw = `${base}.5`;
  const cameraIp = `${base}.6`;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const ns of [cameraNs, routerNs]) removeNamespace(ns);
    spawnSync('ip', ['link', 'del', `${id}s`], { stdio: 'ignore' }); // gone with its peer already, normally
  };
  try {
    run('ip', ['netns', 'add', routerNs]);
    run('ip', ['netns', 'add', cameraNs]);
    run('ip', ['link', 'add', `${id}s`, 'type', 'veth', 'peer', 'name', `${id}w`, 'netns', routerNs]);
    run('ip', [
      'link',
      'add',
      `${id}c`,
      'netns',
      cameraNs,
      'type',
      'veth',
      'peer',
      'name',
      `${id}l`,
      'netns',
      routerNs,
    ]);
    run('ip', ['addr', 'add', `${serverIp}/30`, 'dev', `${id}s`]);
    run('ip', ['link', 'set', `${id}s`, 'up']);
    const inRouter = (...argv: string[]) => run('ip', ['netns', 'exec', routerNs, ...argv]);
    const inCamera = (...argv: string[]) => run('ip', ['netns', 'exec', cameraNs, ...argv]);
    inRouter('ip', 'addr', 'add', `${wanIp}/30`, 'dev', `${id}w`);
    inRouter('ip', 'addr', 'add', `${lanGw}/30`, 'dev', `${id}l`);
    for (const dev of ['lo', `${id}w`, `${id}l`]) inRouter('ip', 'link', 'set', dev, 'up');
    inRouter('sysctl', '-qw', 'net.ipv4.ip_forward=1');
    inRouter('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', `${id}w`, '-j', 'MASQUERADE');
    inCamera('ip', 'addr', 'add', `${cameraIp}/30`, 'dev', `${id}c`);
    // The camera's encoder sends RTP to its agent over loopback.
    for (const dev of ['lo', `${id}c`]) inCamera('ip', 'link', 'set', dev, 'up');
    inCamera('ip', 'route', 'add', 'default', 'via', lanGw);
  } catch (err) {
    close();
    throw err;
  }
  const lan = `${id}l`;
  const iptables = (...argv: string[]) => run('ip', ['netns', 'exec', routerNs, 'iptables', ...argv]);
  const rule = (name: string, ...match: string[]) =>
    iptables(
      '-A',
      'FORWARD',
      '-i',
      lan,
      ...match,
      '-m',
      'comment',
      '--comment',
      `lab:${name}`,
      '-j',
      'ACCEPT',
    );
  const lab: NatLab = {
    serverIp,
    wanIp,
    cameraIp,
    cameraNs,
    routerNs,
    firewall(rules) {
      iptables('-F', 'FORWARD');
      iptables('-Z', 'FORWARD');
      iptables('-P', 'FORWARD', 'DROP');
      // Replies to what the camera opened (through the NAT) come back; nothing else gets in.
      iptables(
        '-A',
        'FORWARD',
        '-i',
        `${id}w`,
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        '-j',
        'ACCEPT',
      );
      if ('open' in rules) {
        rule('open');
        return;
      }
      for (const port of rules.udp ?? [])
        rule(`udp:${port}`, '-d', serverIp, '-p', 'udp', '--dport', String(port));
      for (const port of rules.tcp ?? [])
        rule(`tcp:${port}`, '-d', serverIp, '-p', 'tcp', '--dport', String(port));
      iptables('-A', 'FORWARD', '-i', lan, '-m', 'comment', '--comment', 'lab:dropped', '-j', 'DROP');
    },
    counters() {
      const saved = run('ip', ['netns', 'exec', routerNs, 'iptables-save', '-c', '-t', 'filter']);
      const counts: Record<string, number> = {};
      for (const line of saved.split('\n')) {
        const match = /^\[(\d+):\d+\] -A FORWARD .*--comment "?lab:([^"\s]+)"?/.exec(line);
        if (match) counts[match[2]!] = Number(match[1]);
      }
      return counts;
    },
    close,
  };
  lab.firewall({ open: true });
  return lab;
}

/** `argv` to run a command inside the camera namespace. */
export function inNamespace(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Runs a command; its stderr in the error when it fails. */
export function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

/** A 10.x.y.0/24 no interface or route here uses (a lab takes it, or two /30s of it). */
export function freeSubnet(): string {
  const used = run('ip', ['-4', 'route', 'show', 'table', 'all']) + run('ip', ['-4', 'addr']);
  for (let i = 0; i < 100; i++) {
    const base = `10.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(`${base}.`)) return base;
  }
  throw new Error('no free 10.x.y.0/24 for a network lab');
}

/** Ends what still runs inside `ns` (only ever our own lab's namespaces), then deletes it. */
export function removeNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

/** Namespaces of labs whose creating process is gone (a killed test run): remove them. */
function removeLeftovers(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const match = new RegExp(`^(${PREFIX}([0-9a-z]+)-[0-9a-f]{2}[rc])\\b`).exec(line);
    if (!match) continue;
    const pid = Number.parseInt(match[2]!, 36);
    if (pid !== process.pid && !isAlive(pid)) removeNamespace(match[1]!);
  }
}
