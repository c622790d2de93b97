import type { RefObject } from 'preact';
import { useRef, useState } from 'preact/hooks';
import type { RecordingListing } from '../../../http-contract/index.js';
import { api, mediaUrl } from '../api.js';
import { dateTime, duration } from '../time.js';
import { nextSegment, seekTarget, type TimedSegment } from '../timeline-view.js';
import { REASONS, type TimedGap } from './Timeline.js';

/** A listing's segments and gaps with parsed times, as the timeline works with them. */
export function timed(listing: RecordingListing | undefined): { segments: TimedSegment[]; gaps: TimedGap[] } {
  return {
    segments: (listing?.segments ?? []).map((s) => ({
      id: s.id,
      startMs: Date.parse(s.start),
      endMs: s.end ? Date.parse(s.end) : null,
      complete: s.state === 'complete',
    })),
    gaps: (listing?.gaps ?? []).map((g) => ({
      startMs: Date.parse(g.start),
      endMs: g.end ? Date.parse(g.end) : null,
      reason: g.reason,
    })),
  };
}

interface Options {
  video: RefObject<HTMLVideoElement | null>;
  deviceUrl: string;
  deviceName: string;
  /** The segments and gaps known now (the latest listing). */
  known(): { segments: TimedSegment[]; gaps: TimedGap[] };
  say(label: string): void;
}

/**
 * Playback along the timeline: seek to a moment (the segment there, or the next one after
 * a gap), continue into the next segment when one ends (saying when a gap was skipped), and
 * the playhead as a moment in time.
 */
export function usePlayback({ video, deviceUrl, deviceName, known, say }: Options) {
  const [playing, setPlaying] = useState<number>();
  const [playheadMs, setPlayheadMs] = useState<number>();
  const current = useRef<{ segment: TimedSegment; speed: number } | undefined>(undefined);
  const speed = useRef(1);

  const load = (segment: TimedSegment, offsetS: number, note = '') => {
    const v = video.current!;
    current.current = { segment, speed: speed.current };
    setPlaying(segment.id);
    setPlayheadMs(segment.startMs + offsetS * 1000);
    v.dataset.segmentId = String(segment.id);
    delete v.dataset.cutEnded;
    v.dataset.offset = offsetS.toFixed(2);
    v.src = `${mediaUrl(`${deviceUrl}/recordings/${segment.id}.mp4`)}#t=${offsetS.toFixed(2)}`;
    v.defaultPlaybackRate = speed.current;
    v.playbackRate = speed.current;
    v.play().catch(() => {});
    say(`${note}Playing ${deviceName}, from ${dateTime(segment.startMs + offsetS * 1000)}.`);
  };

  /** A gap's reason between two moments, for "skipped a gap" notes. */
  const gapNote = (fromMs: number, toMs: number) => {
    const gap = known().gaps.find((g) => g.startMs < toMs && (g.endMs ?? Number.POSITIVE_INFINITY) > fromMs);
    const why = gap ? ` (${REASONS[gap.reason] ?? gap.reason})` : '';
    return `Skipped a ${duration(toMs - fromMs)} gap${why}. `;
  };

  const seek = (ms: number) => {
    const target = seekTarget(known().segments, ms);
    if (!target) {
      say(`Nothing recorded after ${dateTime(ms)} in the shown range.`);
      return;
    }
    const v = video.current!;
    const note = target.skippedGap ? gapNote(ms, target.segment.startMs) : '';
    // The same segment: move within it (before its metadata, this sets where it will start).
    if (target.segment.id === current.current?.segment.id && !v.error) {
      v.currentTime = target.offsetS;
      setPlayheadMs(ms);
      if (v.paused) v.play().catch(() => {});
      if (note) say(note);
      return;
    }
    load(target.segment, target.offsetS, note);
  };

  /** The segment ended: the next one, from the listing or else asked of the server. */
  const ended = async () => {
    const now = current.current?.segment;
    if (!now || now.endMs === null) return;
    let next = nextSegment(known().segments, now.id, known().gaps);
    if (!next) {
      const query = new URLSearchParams({ from: new Date(now.endMs).toISOString(), to: 'now' });
      const later = timed(
        await api<RecordingListing>(`${deviceUrl}/recordings?${query}`).catch(() => undefined),
      );
      next = nextSegment([now, ...later.segments], now.id, [...known().gaps, ...later.gaps]);
    }
    if (current.current?.segment !== now) return; // the user picked something else meanwhile
    if (!next) {
      say(`End of the recordings of ${deviceName} (${dateTime(now.endMs)}).`);
      return;
    }
    const v = video.current!;
    if (next.skippedGap) v.dataset.gapsSkipped = String(Number(v.dataset.gapsSkipped ?? 0) + 1);
    load(next.segment, 0, next.skippedGap ? gapNote(now.endMs, next.segment.startMs) : '');
  };

  /**
   * The player waits for data, but the whole file is here and played: a segment cut short by a
   * camera that went away can end before the duration its header gives, and then no `ended`
   * comes. Treat it as the end, once per segment.
   */
  const waiting = () => {
    const v = video.current;
    const now = current.current?.segment;
    if (!v || !now || v.dataset.segmentId !== String(now.id) || v.dataset.cutEnded === String(now.id)) return;
    const buffered = v.buffered.length > 0 ? v.buffered.end(v.buffered.length - 1) : 0;
    if (v.networkState === v.NETWORK_IDLE && buffered - v.currentTime < 0.5) {
      v.dataset.cutEnded = String(now.id);
      void ended();
    }
  };

  const timeUpdate = () => {
    const v = video.current;
    const now = current.current?.segment;
    if (v && now && v.dataset.segmentId === String(now.id)) setPlayheadMs(now.startMs + v.currentTime * 1000);
  };

  const setSpeed = (value: number) => {
    speed.current = value;
    const v = video.current;
    if (!v) return;
    v.defaultPlaybackRate = value;
    v.playbackRate = value;
  };

  /** Playback of something that is not a segment (a range, an exported file). */
  const leave = () => {
    current.current = undefined;
    setPlaying(undefined);
    setPlayheadMs(undefined);
  };

  return { playing, playheadMs, seek, ended, waiting, timeUpdate, setSpeed, speed: speed.current, leave };
}
