/**
 * Debian's Mosquitto as the reference broker of `npm run bench:broker`, configured like
 * Lookout's broker: password file with the devices' real ids and secrets, client id forced
 * to the user name, and an ACL equivalent to broker/topics.ts:
 *
 *   device: read its subtree, write below its `up/`, and its own `status` (on Mosquitto the
 *           camera publishes its presence itself: retained will + retained "online");
 *   service user: read and write the whole `<prefix>/` tree (like Lookout's `$service:` users).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from '../test/helpers/wait-for.js';
import type { BenchDevice } from './broker-devices.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const SERVICE_USER = 'bench-service';

export interface MosquittoSetup {
  dir: string;
  servicePassword: string;
}

/** Writes the password file (hashed by mosquitto_passwd) and the ACL into `dir`. */
export function prepareMosquitto(dir: string, prefix: string, devices: BenchDevice[]): MosquittoSetup {
  const servicePassword = 'bench-service-secret';
  const passwd = path.join(dir, 'passwd');
  const lines = devices.map((d) => `${d.id}:${d.secret}`);
  lines.push(`${SERVICE_USER}:${servicePassword}`);
  writeFileSync(passwd, `${lines.join('\n')}\n`, { mode: 0o600 });
  execFileSync('mosquitto_passwd', ['-U', passwd]);
  const acl = [
    `user ${SERVICE_USER}`,
    `topic readwrite ${prefix}/#`,
    '',
    `pattern read ${prefix}/%u/#`,
    `pattern write ${prefix}/%u/up/#`,
    `pattern write ${prefix}/%u/status`,
    '',
  ];
  writeFileSync(path.join(dir, 'acl'), acl.join('\n'));
  return { dir, servicePassword };
}

/** Starts Mosquitto on a free loopback port; resolves once it accepts TCP connections. */
export async function startMosquitto(
  setup: MosquittoSetup,
  port: number,
): Promise<{ child: ChildProcess; log: () => string }> {
  const conf = path.join(setup.dir, `mosquitto-${port}.conf`);
  const config = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${path.join(setup.dir, 'passwd')}`,
    `acl_file ${path.join(setup.dir, 'acl')}`,
    'use_username_as_clientid true',
    'set_tcp_nodelay true',
    'persistence false',
    'max_connections -1',
    // Its default (1000) drops QoS 1 messages queued for a slow client: the echo service gets
    // every device's status at once. aedes has no such limit.
    'max_queued_messages 0',
    // As root Mosquitto would switch to user `mosquitto`, which cannot read our private temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `log_dest file ${path.join(setup.dir, 'mosquitto.log')}`,
    '',
  ];
  writeFileSync(conf, config.join('\n'));
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => {
    log += d;
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect({ port, host: '127.0.0.1' });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    { timeoutMs: 10_000, what: `mosquitto to listen on ${port}; stderr: ${log}` },
  );
  return { child, log: () => log };
}
