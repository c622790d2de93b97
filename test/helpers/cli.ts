import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

/**
 * What one `lookout` command may take on a loaded 2-core machine: a cold Node start that compiles
 * TypeScript (tsx) and loads the modules the command needs, about 2 s on a quiet one. A test that
 * runs N commands, or waits on a started process, allows a multiple of it.
 */
export const CLI_RUN_MS = 15_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lookout <args>` from source as a real process. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    if (options.input !== undefined) child.stdin!.end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Starts `lookout <args>` and returns the process (the caller owns it and must end it). With
 * `netns`, inside that network namespace (`ip netns exec` execs, so the child is node itself).
 */
export function spawnCli(
  args: string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    netns?: string;
    nodeArgs?: string[];
    input?: string;
  } = {},
): ChildProcess {
  const argv = [process.execPath, ...(options.nodeArgs ?? []), '--import', TSX, MAIN, ...args];
  const [command, ...rest] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...argv] : argv;
  return spawn(command!, rest, {
    cwd: options.cwd ?? ROOT,
    env: { ...cleanEnv(), ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

/** The parent's environment without LOOKOUT_* variables, so tests do not inherit configuration. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LOOKOUT_')));
}
