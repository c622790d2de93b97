import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { LookoutError } from '../core/errors.js';

let cached: string | undefined;

/**
 * The ffmpeg to run: the system's `ffmpeg` when it works (it is usually newer and has
 * hardware support), else the binary shipped in the optional npm package
 * `@ffmpeg-installer/ffmpeg`. Throws FFMPEG_NOT_FOUND naming both places when neither runs.
 */
export function ffmpegPath(): string {
  if (cached) return cached;
  const candidates = ['ffmpeg'];
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    candidates.push(installer.path);
  } catch {
    // Optional dependency not installed on this platform.
  }
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-hide_banner', '-version'], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status === 0) {
      cached = candidate;
      return candidate;
    }
  }
  throw new LookoutError(
    'FFMPEG_NOT_FOUND',
    'ffmpeg not found: install it (Debian/Ubuntu: apt install ffmpeg) or reinstall Lookout so the bundled @ffmpeg-installer/ffmpeg is present',
  );
}
