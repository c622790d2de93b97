/**
 * The module that runs ffmpeg for recordings (and thumbnail.ts for their pictures), through fluent-ffmpeg (archived
 * upstream: keep it behind this file). Every ffmpeg is tied to this process
 * (core/tied-process.ts) so none survives `lookout serve`, even after SIGKILL, and is
 * stopped through its pipe, never by signalling a PID we did not spawn.
 */

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { stopTied, writeTiedScript } from '../core/tied-process.js';
import { ffmpegPath } from '../media/ffmpeg-path.js';

let tiedFfmpeg: string | undefined;

/** The tied wrapper around the system's ffmpeg, written once per process (thumbnail.ts runs it too). */
export function tiedFfmpegPath(): string {
  if (!tiedFfmpeg) {
    // Not named `ffmpeg`, so process listings tell the wrapper from ffmpeg itself.
    tiedFfmpeg = writeTiedScript('lookout-ffmpeg', ffmpegPath());
  }
  return tiedFfmpeg;
}

let probePath: string | undefined;

/** ffprobe next to the ffmpeg in use. Throws FFPROBE_NOT_FOUND. */
export function ffprobePath(): string {
  if (probePath) return probePath;
  const main = ffmpegPath();
  const candidate = main === 'ffmpeg' ? 'ffprobe' : path.join(path.dirname(main), 'ffprobe');
  const check = spawnSync(candidate, ['-hide_banner', '-version'], { stdio: 'ignore', timeout: 10_000 });
  if (check.status !== 0) {
    throw new LookoutError(
      'FFPROBE_NOT_FOUND',
      'ffprobe not found: recordings need the ffmpeg suite with ffprobe (Debian/Ubuntu: apt install ffmpeg)',
    );
  }
  probePath = candidate;
  return candidate;
}

let localaddr: boolean | undefined;

/**
 * `-localaddr 127.0.0.1`: the SDP demuxer binds its RTP ports on loopback only (its default
 * is every address), so nobody on the network can inject packets into a recording. ffmpeg
 * before 5.0 (the bundled fallback binary) lacks the option: warn once and go without.
 */
function loopbackOnly(log: Logger): string[] {
  if (localaddr === undefined) {
    const help = spawnSync(ffmpegPath(), ['-hide_banner', '-h', 'demuxer=sdp'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    localaddr = `${help.stdout}`.includes('-localaddr');
    if (!localaddr)
      log.warn(
        'this ffmpeg cannot bind RTP to loopback (no -localaddr; ffmpeg >= 5 can): recorder ports listen on every address',
      );
  }
  return localaddr ? ['-localaddr', '127.0.0.1'] : [];
}

/** Whether this ffmpeg failure is just the exit after we asked it to stop (SIGTERM: status 255). */
function isRequestedStop(err: Error): boolean {
  return /exited with code 255|killed with signal SIG(TERM|INT)/.test(err.message);
}

export interface SegmenterOptions {
  sdpFile: string;
  /** Output pattern with one %05d (the segment number). */
  outputPattern: string;
  startNumber: number;
  segmentSeconds: number;
  fragmentMs: number;
  /** How audio goes into MP4: copied (Opus), converted to AAC (G.711), or absent. */
  audio: 'copy' | 'aac' | 'none';
  log: Logger;
  /** Each line ffmpeg writes on stderr; default: logged as a warning. */
  onStderr?: (line: string) => void;
}

export type SegmenterEvents = {
  /** A segment file is finished: its name and its start/end in seconds of media. */
  segment: [file: string, startSeconds: number, endSeconds: number];
  /** ffmpeg has ended: `requested` when we stopped it, else it failed or died. */
  exit: [info: { requested: boolean; error?: string }];
};

/**
 * One ffmpeg reading RTP described by an SDP file and writing fragmented MP4 segments
 * with `-c copy`. Finished segments are reported from ffmpeg's CSV segment list on stdout.
 */
export class Segmenter extends EventEmitter<SegmenterEvents> {
  #process: ChildProcess | undefined;
  #stopRequested = false;
  #exited = false;
  readonly #exitPromise: Promise<void>;
  readonly pidReady: Promise<number>;

  constructor(options: SegmenterOptions) {
    super();
    const audio =
      options.audio === 'none'
        ? ['-an']
        : options.audio === 'copy'
          ? ['-c:a', 'copy']
          : ['-c:a', 'aac', '-b:a', '64k', '-ar', '16000', '-ac', '1'];
    const command = ffmpeg({ stdoutLines: 0 })
      .setFfmpegPath(tiedFfmpegPath())
      .input(options.sdpFile)
      .inputOptions([
        '-hide_banner',
        '-nostats',
        '-loglevel',
        'warning',
        '-protocol_whitelist',
        'file,udp,rtp',
        ...loopbackOnly(options.log),
        // Loopback UDP: a large receive buffer absorbs bursts (keyframes) while ffmpeg writes.
        '-buffer_size',
        '8388608',
        '-reorder_queue_size',
        '256',
        // The SDP already names the codecs (and the H.264 parameter sets): probe briefly.
        '-analyzeduration',
        '1000000',
        '-probesize',
        '1000000',
      ])
      .outputOptions([
        '-map',
        '0',
        '-c:v',
        'copy',
        ...audio,
        // Opus in MP4 is still flagged experimental in ffmpeg 5.
        '-strict',
        'experimental',
        '-f',
        'segment',
        '-segment_time',
        String(options.segmentSeconds),
        '-segment_format',
        'mp4',
        '-segment_format_options',
        // flush_packets on the inner MP4 muxer writes each fragment to disk as it is cut;
        // without it fragments wait in a 256 KiB buffer and a crash loses them.
        `movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=${options.fragmentMs * 1000}:flush_packets=1`,
        '-reset_timestamps',
        '1',
        '-segment_start_number',
        String(options.startNumber),
        '-segment_list',
        'pipe:1',
        '-segment_list_type',
        'csv',
        '-flush_packets',
        '1',
      ])
      .output(options.outputPattern);
    let resolvePid: (pid: number) => void;
    this.pidReady = new Promise((resolve) => {
      resolvePid = resolve;
    });
    let stdoutTail = '';
    this.#exitPromise = new Promise((resolve) => {
      const finish = (error?: string) => {
        if (this.#exited) return;
        this.#exited = true;
        this.emit('exit', { requested: this.#stopRequested, ...(error ? { error } : {}) });
        resolve();
      };
      command.on('start', () => {
        const proc = (command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc;
        this.#process = proc;
        proc.stdin?.on('error', () => {});
        resolvePid(proc.pid ?? -1);
        proc.stdout?.setEncoding('utf8');
        proc.stdout?.on('data', (chunk: string) => {
          stdoutTail += chunk;
          let newline = stdoutTail.indexOf('\n');
          while (newline >= 0) {
            const line = stdoutTail.slice(0, newline).trim();
            stdoutTail = stdoutTail.slice(newline + 1);
            const match = /^(.+),(-?[\d.]+),(-?[\d.]+)$/.exec(line);
            if (match) this.emit('segment', match[1]!, Number(match[2]), Number(match[3]));
            newline = stdoutTail.indexOf('\n');
          }
        });
        if (this.#stopRequested) stopTied(proc).catch(() => {});
      });
      const stderr =
        options.onStderr ?? ((line: string) => options.log.warn({ ffmpeg: line }, 'ffmpeg says'));
      // fluent-ffmpeg's error message keeps only stderr lines that do not start with "[", which
      // drops the cause ("[udp @ 0x..] bind failed: Address already in use", "[segment @ 0x..]
      // ... No space left on device"): the last lines go into the exit error too.
      const recent: string[] = [];
      command.on('stderr', (line: string) => {
        recent.push(line.trim().slice(0, 300));
        if (recent.length > 5) recent.shift();
        stderr(line);
      });
      command.on('end', () => finish());
      command.on('error', (err: Error) => {
        if (this.#stopRequested && isRequestedStop(err)) finish();
        else finish(recent.length > 0 ? `${err.message} (stderr: ${recent.join(' | ')})` : err.message);
      });
    });
    command.run();
  }

  get running(): boolean {
    return !this.#exited;
  }

  /** Stops ffmpeg cleanly (it finishes the current segment). Resolves when it has exited. */
  async stop(): Promise<void> {
    this.#stopRequested = true;
    if (this.#process) await stopTied(this.#process);
    await this.#exitPromise;
  }

  /** Test and fault hook: the ffmpeg process as spawned (its tied wrapper). */
  get process(): ChildProcess | undefined {
    return this.#process;
  }
}

export interface ProbeResult {
  durationSeconds: number;
  videoCodec: string | null;
  audioCodec: string | null;
}

/** Reads a media file's duration and codecs with ffprobe. Throws PROBE_FAILED. */
export function probeFile(file: string): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    ffmpeg.setFfprobePath(ffprobePath());
    ffmpeg.ffprobe(file, (err, data) => {
      if (err) {
        reject(
          new LookoutError('PROBE_FAILED', `cannot read ${file}: ${(err as Error).message.split('\n')[0]}`),
        );
        return;
      }
      const streams = data.streams ?? [];
      const video = streams.find((s) => s.codec_type === 'video');
      const audio = streams.find((s) => s.codec_type === 'audio');
      const durations = [Number(data.format.duration), ...streams.map((s) => Number(s.duration))].filter(
        (d) => Number.isFinite(d) && d > 0,
      );
      resolve({
        durationSeconds: durations.length > 0 ? Math.max(...durations) : 0,
        videoCodec: video?.codec_name ?? null,
        audioCodec: audio?.codec_name ?? null,
      });
    });
  });
}

/**
 * Joins the parts a concat list names into one MP4 (moov first, so it plays while it
 * downloads) without re-encoding. Reports progress in seconds of output written.
 */
export function remuxConcat(
  listFile: string,
  output: string,
  onProgress?: (seconds: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const command = ffmpeg({ stdoutLines: 20 })
      .setFfmpegPath(tiedFfmpegPath())
      .input(listFile)
      .inputOptions(['-hide_banner', '-f', 'concat', '-safe', '0'])
      .outputOptions(['-map', '0', '-c', 'copy', '-movflags', '+faststart', '-strict', 'experimental', '-y'])
      .output(output)
      .format('mp4');
    command.on('progress', (progress: { timemark?: string }) => {
      const seconds = timemarkSeconds(progress.timemark);
      if (seconds !== undefined) onProgress?.(seconds);
    });
    command.on('start', () => {
      (command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc.stdin?.on('error', () => {});
    });
    command.on('end', () => resolve());
    command.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
      const detail = (stderr ?? '').trim().split('\n').slice(-3).join(' | ') ?? '';
      reject(
        new LookoutError('EXPORT_FAILED', `ffmpeg could not join the segments: ${err.message} ${detail}`),
      );
    });
    command.run();
  });
}

function timemarkSeconds(mark: string | undefined): number | undefined {
  const match = mark && /^(\d+):(\d+):([\d.]+)$/.exec(mark);
  if (!match) return undefined;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}
