import { spawnSync } from 'node:child_process';

export interface ProbedFile {
  durationSeconds: number;
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
  /** Video packet presentation times in seconds, in file order. */
  videoPts: number[];
  /** Seconds of the video's keyframes. */
  keyframes: number[];
}

/** ffprobe a file: streams, duration, every video packet's time and keyframe flag. */
export function probe(file: string): ProbedFile {
  const run = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-show_entries',
      'format=duration:stream=codec_type,codec_name,width,height:packet=pts_time,flags,codec_type',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (run.status !== 0) throw new Error(`ffprobe ${file} failed: ${run.stderr}`);
  const data = JSON.parse(run.stdout) as {
    format: { duration?: string };
    streams: ProbedFile['streams'];
    packets: Array<{ codec_type: string; pts_time?: string; flags: string }>;
  };
  const video = data.packets.filter((p) => p.codec_type === 'video' && p.pts_time !== undefined);
  return {
    durationSeconds: Number(data.format.duration ?? 0),
    streams: data.streams,
    videoPts: video.map((p) => Number(p.pts_time)),
    keyframes: video.filter((p) => p.flags.includes('K')).map((p) => Number(p.pts_time)),
  };
}

/**
 * Decodes the whole file; returns ffmpeg's error output (empty when it decodes cleanly).
 * Frames keep their own timestamps (`-fps_mode passthrough`, `-enc_time_base -1`): the null
 * muxer would otherwise round them to a guessed frame rate and call an irregular but valid
 * stream (a camera whose encoder restarted) non-monotonic.
 */
export function decodeErrors(file: string): string {
  const run = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-enc_time_base', '-1', '-fps_mode', 'passthrough', '-f', 'null', '-'],
    {
      encoding: 'utf8',
    },
  );
  return run.status === 0 ? run.stderr.trim() : `exit ${run.status}: ${run.stderr}`;
}
