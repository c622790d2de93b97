import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freeSubnet, removeNamespace, run } from './netns.js';
import { isAlive } from './processes.js';

/**
 * Hosts of a cluster, built from network namespaces on one bridge:
 *
 *   root namespace: bridge <id>b, hostIp (x.y.z.1/24): Redis, PostgreSQL, agents, the browser
 *     ├── veth ── namespace <id>0: nodeIps[0] (x.y.z.10)
 *     ├── veth ── namespace <id>1: nodeIps[1] (x.y.z.11)
 *     └── ...
 *
 * Each node has its own address and loopback, as separate hosts would; they reach each other
 * and the root namespace over the bridge. Killing a node's processes (or the namespace) is a
 * host gone. Names carry the creating PID so leftovers of a killed run are removed next time.
 */
export interface ClusterLab {
  /** The root namespace's address on the bridge: where the shared servers listen. */
  readonly hostIp: string;
  readonly nodeIps: readonly string[];
  readonly namespaces: readonly string[];
  /** Deletes the namespaces and the bridge (and with them every veth). Idempotent. */
  close(): void;
}

const PREFIX = 'lkc';

export function createClusterLab(nodes: number): ClusterLab {
  removeLeftovers();
  // Interface names are at most 15 bytes: lkc + pid in base 36 (<= 5) + '-' + 2 hex + 1-2.
  const id = `${PREFIX}${process.pid.toString(36)}-${randomBytes(1).toString('hex')}`;
  const bridge = `${id}b`;
  const base = freeSubnet();
  const hostIp = `${base}.1`;
  const namespaces = Array.from({ length: nodes }, (_, i) => `${id}${i}`);
  const nodeIps = namespaces.map((_, i) => `${base}.${10 + i}`);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const ns of namespaces) removeNamespace(ns);
    spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  };
  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${hostIp}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    namespaces.forEach((ns, i) => {
      run('ip', ['netns', 'add', ns]);
      run('ip', ['link', 'add', `${ns}h`, 'type', 'veth', 'peer', 'name', `${ns}n`, 'netns', ns]);
      run('ip', ['link', 'set', `${ns}h`, 'master', bridge]);
      run('ip', ['link', 'set', `${ns}h`, 'up']);
      const inNs = (...argv: string[]) => run('ip', ['netns', 'exec', ns, ...argv]);
      inNs('ip', 'addr', 'add', `${nodeIps[i]}/24`, 'dev', `${ns}n`);
      for (const dev of ['lo', `${ns}n`]) inNs('ip', 'link', 'set', dev, 'up');
    });
  } catch (err) {
    close();
    throw err;
  }
  return { hostIp, nodeIps, namespaces, close };
}

/** Namespaces and bridges of labs whose creating process is gone (a killed test run). */
function removeLeftovers(): void {
  const pattern = new RegExp(`^(${PREFIX}([0-9a-z]+)-[0-9a-f]{2})(\\d+|b)\\b`);
  const gone = (pid36: string) => {
    const pid = Number.parseInt(pid36, 36);
    return pid !== process.pid && !isAlive(pid);
  };
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of namespaces.split('\n')) {
    const match = pattern.exec(line);
    if (match && gone(match[2]!)) removeNamespace(`${match[1]}${match[3]}`);
  }
  const links = spawnSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of links.split('\n')) {
    const match = pattern.exec(line.split(': ')[1] ?? '');
    if (match && match[3] === 'b' && gone(match[2]!))
      spawnSync('ip', ['link', 'del', `${match[1]}b`], { stdio: 'ignore' });
  }
}
