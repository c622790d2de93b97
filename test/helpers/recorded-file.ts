import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * A real fragmented MP4 as the recorder writes it: H.264, a keyframe a second, 1 s fragments
 * (ffmpeg's test source; `size` as WxH).
 */
export function recordedFile(file: string, seconds: number, size = '160x90'): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const made = spawnSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=15`, '-t', String(seconds)],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15'],
    ...['-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '1000000', '-y', file],
  ]);
  if (made.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${made.stderr}`);
}
