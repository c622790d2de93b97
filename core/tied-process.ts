import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessRunning } from './pid.js';

/**
 * Spawns `command args` so that it cannot outlive this process, even when this process is
 * killed with SIGKILL and runs no cleanup. A small POSIX shell wrapper starts the command
 * and a watcher blocked reading the wrapper's stdin, a pipe only we hold open: when we die
 * or call stopTied(), the pipe closes (or says `kill`), the watcher wakes and ends the
 * command. The wrapper exits with the command's status. Nothing is ever killed by name, and
 * we signal no PID but through that pipe.
 */
const wrapperLines = (command: string) => [
  // POSIX gives background jobs /dev/null as stdin: keep our pipe on fd 3 for the watcher.
  'exec 3<&0',
  `${command} "$@" </dev/null 3<&- &`,
  'child=$!',
  '(',
  '  read -r how <&3',
  '  if [ "$how" = kill ]; then kill -KILL "$child" 2>/dev/null; exit 0; fi',
  '  kill -TERM "$child" 2>/dev/null',
  // ffmpeg finishes its output on the first signal but only leaves a blocking read (an
  // RTP input with no packets) on the second: repeat it once after a second.
  '  for n in 1 2 3 4 5; do kill -0 "$child" 2>/dev/null || exit 0; sleep 1; [ "$n" = 1 ] && kill -TERM "$child" 2>/dev/null; done',
  '  kill -KILL "$child" 2>/dev/null',
  ') &',
  'watcher=$!',
  'wait "$child"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
];
const WRAPPER = wrapperLines('"$0"').join('\n');

export function spawnTied(
  command: string,
  args: string[],
  stdout: 'ignore' | 'pipe' = 'ignore',
): ChildProcess {
  const child = spawn('/bin/sh', ['-c', WRAPPER, command, ...args], { stdio: ['pipe', stdout, 'pipe'] });
  child.stdin!.on('error', () => {}); // EPIPE once the wrapper is gone: nothing left to stop
  return child;
}

const SCRIPT_DIR_PREFIX = 'lookout-';

/**
 * Writes an executable script that runs `command` tied the same way, for libraries that
 * spawn their own process from a path (fluent-ffmpeg). Whoever spawns it must keep the
 * script's stdin a pipe it holds, and stop it by ending that pipe (stopTied), never by
 * signalling the script. It lives in a directory of this process's own under `tmpRoot`,
 * removed when the process exits; directories of processes that died without that (kill -9)
 * are removed here. Returns the script's path.
 */
export function writeTiedScript(name: string, command: string, tmpRoot = os.tmpdir()): string {
  removeStaleScriptDirs(tmpRoot);
  const dir = path.join(tmpRoot, `${SCRIPT_DIR_PREFIX}${process.pid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A shared /tmp: refuse a directory someone else made there for us to write into.
  const made = lstatSync(dir);
  if (!made.isDirectory() || made.uid !== process.getuid?.() || (made.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a private directory of this user; remove it`);
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  const quoted = `'${command.replaceAll("'", `'\\''`)}'`;
  writeFileSync(file, ['#!/bin/sh', ...wrapperLines(quoted), ''].join('\n'), { mode: 0o700 });
  chmodSync(file, 0o700);
  return file;
}

/** Script directories (`lookout-<pid>`, ours by owner) whose process is gone. */
function removeStaleScriptDirs(tmpRoot: string): void {
  let names: string[];
  try {
    names = readdirSync(tmpRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^lookout-(\d+)$/.exec(name);
    if (!match || Number(match[1]) === process.pid) continue;
    const dir = path.join(tmpRoot, name);
    try {
      if (lstatSync(dir).uid !== process.getuid?.() || isProcessRunning(Number(match[1]))) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/**
 * Ends a tied process: SIGTERM (again after 1 s, SIGKILL after 5 s) so it can finish cleanly, or at once with
 * `{ now: true }`. Resolves when it has exited.
 */
export function stopTied(child: ChildProcess, options: { now?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.stdin?.end(options.now ? 'kill\n' : undefined);
  });
}
