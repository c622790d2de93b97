/**
 * Turns a recording ffmpeg's stderr into a few log lines. Under packet loss or load ffmpeg
 * warns per event ("RTP: missed 3 packets", "max delay reached. need to consume packet"):
 * 94% of a loaded server's log lines were these (issue 9, item 24). Known kinds are counted
 * and reported as one line per camera per interval; lines of unknown kinds (which include
 * real errors such as "No space left on device") are passed through, at most
 * `unknownPerInterval` per interval, the rest counted. Pure: the caller passes the time and
 * logs what comes back.
 */

/** Warnings ffmpeg prints per event while it copies RTP into MP4, by kind. */
const KINDS: ReadonlyArray<{ kind: string; pattern: RegExp }> = [
  // rtpdec.c: a sequence-number jump (packets lost on the way or dropped by the camera).
  { kind: 'rtp-missed', pattern: /RTP: missed (\d+) packets?/ },
  // demux.c/rtsp.c: the reorder queue waited max_delay for a missing packet and gave up.
  { kind: 'max-delay', pattern: /max delay reached/ },
  { kind: 'jitter-buffer-full', pattern: /jitter buffer full/ },
  { kind: 'late-packet', pattern: /RTP: dropping old packet received too late/ },
  { kind: 'rtp-bad-packet', pattern: /RTP: PT=|Unhandled RTCP|RTP timestamps don't match/ },
  // mux.c/movenc.c: a camera whose clock restarts (encoder restart, new SSRC).
  { kind: 'non-monotonic-dts', pattern: /(?:non[- ]?monoton(?:ous|ic|ically)).*(?:DTS|dts)/i },
  { kind: 'timestamps-unset', pattern: /Timestamps are unset in a packet/ },
  // movenc.c, once per segment file: notes about Opus/G.711 frames and fragment ends.
  { kind: 'mp4-frame-size', pattern: /codec frame size is not set/ },
  { kind: 'mp4-last-duration', pattern: /Estimating the duration of the last packet in a fragment/ },
  // h264 parser: a stream joined mid-GOP or missing a fragment of a frame.
  {
    kind: 'h264-incomplete',
    pattern:
      /non-existing PPS|decode_slice_header error|no frame!|missing picture in access unit|Missing reference picture|error while decoding MB/,
  },
];

export interface SummaryLine {
  level: 'warn';
  fields: Record<string, unknown>;
  message: string;
}

export interface SummaryOptions {
  /** Length of one summary interval. Default 60 s. */
  intervalMs?: number;
  /** Unknown lines logged as they are per interval; the rest are counted. Default 10. */
  unknownPerInterval?: number;
}

/** Lines longer than this are cut: ffmpeg's stderr is not ours to size. */
const MAX_LINE = 500;

/** One camera's ffmpeg warnings over time. */
export class FfmpegWarningSummary {
  readonly #intervalMs: number;
  readonly #unknownPerInterval: number;
  /** Start of the interval being counted; undefined while nothing is counted. */
  #since: number | undefined;
  #counts = new Map<string, number>();
  #missedPackets = 0;
  #unknownLogged = 0;

  constructor(options: SummaryOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#unknownPerInterval = options.unknownPerInterval ?? 10;
  }

  /** Whether something is counted and will be reported by `flush`. */
  get pending(): boolean {
    return this.#counts.size > 0;
  }

  /** Takes one stderr line at `now`; returns what to log now (possibly nothing). */
  add(rawLine: string, now: number): SummaryLine[] {
    const line = rawLine.trim().slice(0, MAX_LINE);
    if (line === '') return [];
    const out = this.#since !== undefined && now - this.#since >= this.#intervalMs ? this.flush(now) : [];
    this.#since ??= now;
    const known = KINDS.find((k) => k.pattern.test(line));
    if (known) {
      this.#count(known.kind);
      const missed = known.kind === 'rtp-missed' ? known.pattern.exec(line) : null;
      if (missed) this.#missedPackets += Number(missed[1]);
      return out;
    }
    if (this.#unknownLogged < this.#unknownPerInterval) {
      this.#unknownLogged++;
      out.push({ level: 'warn', fields: { ffmpeg: line }, message: 'ffmpeg says' });
    } else {
      this.#count('other');
    }
    return out;
  }

  /** Ends the interval: one summary line if anything was counted (call on a timer and when ffmpeg ends). */
  flush(now: number): SummaryLine[] {
    const since = this.#since;
    const counts = Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
    const missedPackets = this.#missedPackets;
    this.#since = undefined;
    this.#counts = new Map();
    this.#missedPackets = 0;
    this.#unknownLogged = 0;
    if (since === undefined || Object.keys(counts).length === 0) return [];
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    return [
      {
        level: 'warn',
        fields: {
          ffmpegWarnings: counts,
          ...(missedPackets > 0 ? { missedPackets } : {}),
          seconds: Math.max(0, Math.round((now - since) / 1000)),
        },
        message: `ffmpeg warned ${total} times (summary)`,
      },
    ];
  }

  #count(kind: string): void {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
  }
}
