import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnTied, stopTied } from '../../../core/tied-process.js';
import { childProcesses, isAlive } from '../../helpers/processes.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait-for.js';

/** The `sleep` the wrapper shell started (0 while there is none). */
const sleeperUnder = (shellPid: number) => childProcesses(shellPid, 'sleep')[0] ?? 0;

describe('spawnTied', () => {
  it('passes the exit status through and stops on request', async () => {
    const ok = spawnTied('/bin/sh', ['-c', 'exit 3']);
    const code = await new Promise((r) => ok.once('exit', r));
    expect(code).toBe(3);
    const long = spawnTied('sleep', ['30']);
    await waitFor(() => sleeperUnder(long.pid!) > 0);
    const target = sleeperUnder(long.pid!);
    await stopTied(long);
    await waitFor(() => !isAlive(target), { what: 'the command to end' });
    const stubborn = spawnTied('/bin/sh', ['-c', 'trap "" TERM; exec sleep 30']);
    // Its sleep runs once the trap is set (and keeps ignoring TERM across exec): only then is it stubborn.
    await waitFor(() => sleeperUnder(stubborn.pid!) > 0, { what: 'the stubborn command to start' });
    const started = Date.now();
    await stopTied(stubborn, { now: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('ends the command when its owner is killed with SIGKILL', async () => {
    // An owner process that spawns a tied `sleep 60` and prints the wrapper's pid, then is SIGKILLed.
    const owner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "const { spawnTied } = await import('./core/tied-process.ts'); const c = spawnTied('sleep', ['60']); console.log(c.pid); setInterval(() => {}, 1000);",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const wrapperPid = await new Promise<number>((resolve) =>
      owner.stdout!.once('data', (d) => resolve(Number(String(d).trim()))),
    );
    await waitFor(() => sleeperUnder(wrapperPid) > 0, { what: 'sleep started' });
    const sleeper = sleeperUnder(wrapperPid);
    owner.kill('SIGKILL');
    await waitFor(() => !isAlive(sleeper), { timeoutMs: 5000, what: 'the orphan to be ended' });
  });
});

describe('writeTiedScript', () => {
  it('runs the command tied, removes its directory at exit and sweeps those of dead processes', async () => {
    const root = tempDir('lookout-tied-');
    try {
      // A dead process's leftover (kill -9 skips exit handlers) and a live one's directory.
      const dead = spawn('true');
      await new Promise((r) => dead.once('exit', r));
      mkdirSync(path.join(root.dir, `lookout-${dead.pid}`));
      mkdirSync(path.join(root.dir, `lookout-${process.ppid}`));
      const owner = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `const { writeTiedScript } = await import('./core/tied-process.ts');
           const { spawn } = await import('node:child_process');
           const script = writeTiedScript('echoer', '/bin/echo', ${JSON.stringify(root.dir)});
           console.log(script);
           // Its stdin stays a pipe we hold until it exits, as fluent-ffmpeg's does.
           const child = spawn(script, ['tied', 'hello'], { stdio: ['pipe', 'pipe', 'inherit'] });
           let echoed = '';
           child.stdout.on('data', (d) => { echoed += d; });
           child.on('exit', () => console.log(echoed.trim()));`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      owner.stdout!.on('data', (d) => {
        out += d;
      });
      const code = await new Promise((r) => owner.once('exit', r));
      const [script, echoed] = out.trim().split('\n');
      expect(code).toBe(0);
      expect(script).toBe(path.join(root.dir, `lookout-${owner.pid}`, 'echoer'));
      expect(echoed).toBe('tied hello');
      expect(readdirSync(root.dir).sort()).toEqual([`lookout-${process.ppid}`]);
    } finally {
      root.remove();
    }
  });
});
