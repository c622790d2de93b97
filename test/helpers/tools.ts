import { spawnSync } from 'node:child_process';
import { loadNativeSrtp, type NativeSrtp } from '../../media/native-srtp.js';

/**
 * Whether an external tool (ffmpeg, mosquitto_pub, chromium...) is installed. Outside CI a
 * missing tool skips its tests with a loud reason; in CI (CI=true) it is an error, so
 * nothing is ever skipped there.
 */
export function requireTool(command: string, versionArgs: string[] = ['--help']): boolean {
  const probe = spawnSync(command, versionArgs, { stdio: 'ignore' });
  const found = !(probe.error && (probe.error as NodeJS.ErrnoException).code === 'ENOENT');
  if (found) return true;
  const message = `required tool '${command}' is not installed (see .ci/run for the packages)`;
  if (process.env.CI) throw new Error(`${message}; CI must not skip tests`);
  console.warn(`\n*** SKIPPING tests that need ${command}: ${message} ***\n`);
  return false;
}

/**
 * Lookout's native SRTP sender (media/native-srtp.ts), or undefined when it is not built: then,
 * like a missing tool, its tests skip loudly outside CI and fail in CI (`.ci/run` builds it at
 * `npm ci`).
 */
export function requireNativeSrtp(): NativeSrtp | undefined {
  const load = loadNativeSrtp();
  if (load.addon) return load.addon;
  const message = `the native SRTP addon is not available: ${load.reason}`;
  if (process.env.CI) throw new Error(`${message}; CI must not skip tests`);
  console.warn(`\n*** SKIPPING tests of the native SRTP sender: ${message} ***\n`);
  return undefined;
}
