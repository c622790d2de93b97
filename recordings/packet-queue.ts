/**
 * The RTP a recorder holds before (and while) ffmpeg takes it: pure, so the start policy is
 * tested without processes.
 *
 * Issue 9, item 7: on a loaded machine ffmpeg takes seconds to start; the recorder used to
 * buffer up to 4,000 packets and send them at once, which overflowed ffmpeg's socket and
 * reorder queue ("jitter buffer full", decode errors in the first segment). Now:
 * - while ffmpeg starts, the queue keeps only what follows the latest keyframe (a recording
 *   must start on one, and older frames only make the burst bigger);
 * - once ffmpeg listens, the queue is sent in small paced batches, new packets behind it, so
 *   order is kept and the burst is spread;
 * - it is bounded: past `limit`, it restarts at its latest keyframe, or drops everything and
 *   waits for the next keyframe (never a stream that starts mid-frame).
 */

export interface QueuedPacket {
  kind: 'video' | 'audio';
  bytes: Buffer;
}

export interface IncomingPacket extends QueuedPacket {
  /** The payload starts a keyframe (media/keyframe.ts: SPS, IDR or an FU-A starting one). */
  keyframeStart: boolean;
  /** RTP timestamp: the SPS, PPS and IDR packets of one keyframe share it. */
  timestamp: number;
  /** Wall-clock arrival (ms). */
  at: number;
}

export type PushResult = 'queued' | 'restarted' | 'overflow' | 'dropped';

interface Entry extends QueuedPacket {
  /** First packet of a keyframe, with its arrival time. */
  keyframeAt: number | undefined;
}

export class PacketQueue {
  #entries: Entry[] = [];
  #head = 0;
  /** RTP timestamp of the last keyframe start seen, to tell a new keyframe from its next NAL. */
  #keyframeTimestamp: number | undefined;
  /** After an overflow: nothing is queued until the next keyframe. */
  #waitingKeyframe = false;

  constructor(private readonly limit = 4000) {}

  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Arrival time of the keyframe the queue starts with (undefined if it does not start with one). */
  get startsAt(): number | undefined {
    return this.#entries[this.#head]?.keyframeAt;
  }

  /**
   * Queues a packet. With `startAtKeyframe` (ffmpeg is still starting) a new keyframe drops
   * everything before it: 'restarted'. 'overflow' once when the bound is hit, then 'dropped'
   * until a keyframe.
   */
  push(packet: IncomingPacket, startAtKeyframe: boolean): PushResult {
    const isNewKeyframe =
      packet.kind === 'video' && packet.keyframeStart && packet.timestamp !== this.#keyframeTimestamp;
    if (packet.kind === 'video' && packet.keyframeStart) this.#keyframeTimestamp = packet.timestamp;
    const entry: Entry = {
      kind: packet.kind,
      bytes: packet.bytes,
      keyframeAt: isNewKeyframe ? packet.at : undefined,
    };
    if (this.#waitingKeyframe) {
      if (!isNewKeyframe) return 'dropped';
      this.#waitingKeyframe = false;
    }
    let result: PushResult = 'queued';
    if (isNewKeyframe && startAtKeyframe && this.length > 0) {
      this.#clear();
      result = 'restarted';
    }
    if (this.length >= this.limit) {
      if (isNewKeyframe) {
        this.#clear();
      } else if (!this.#dropToLatestKeyframe()) {
        this.#clear();
        this.#waitingKeyframe = true;
        return 'overflow';
      }
      result = 'overflow';
    }
    this.#entries.push(entry);
    return result;
  }

  /** Takes up to `max` packets from the front, in order. */
  take(max: number): QueuedPacket[] {
    const end = Math.min(this.#entries.length, this.#head + max);
    const out = this.#entries.slice(this.#head, end).map(({ kind, bytes }) => ({ kind, bytes }));
    this.#head = end;
    if (this.#head === this.#entries.length) this.#clear();
    else if (this.#head > 1024) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  /** Forgets everything, including the keyframe state. */
  reset(): void {
    this.#clear();
    this.#keyframeTimestamp = undefined;
    this.#waitingKeyframe = false;
  }

  /** Drops what precedes the latest keyframe after the head; false if there is none. */
  #dropToLatestKeyframe(): boolean {
    for (let i = this.#entries.length - 1; i > this.#head; i--) {
      if (this.#entries[i]!.keyframeAt !== undefined) {
        this.#entries = this.#entries.slice(i);
        this.#head = 0;
        return true;
      }
    }
    return false;
  }

  #clear(): void {
    this.#entries = [];
    this.#head = 0;
  }
}
