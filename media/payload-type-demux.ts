import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver, RtpPacket } from 'werift';
import type { Logger } from '../core/log.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';

/**
 * RFC 8843 §9.2: in a BUNDLE group, an RTP packet is matched to its m-line by MID header
 * extension, else by the SSRCs the SDP signals (`a=ssrc`), else by payload type when that
 * payload type is used by one m-line only. werift 0.24 does only the first two: a camera
 * whose answer has no `a=ssrc` (and we offer no MID extension) gets every packet dropped
 * (its RtpRouter finds no receiver). This file adds the third step, in our code.
 */

/** The payload types one transceiver negotiated, by role. */
export interface DemuxEntry {
  /** Media payload types (H.264, VP8, Opus...). */
  media: readonly number[];
  /** RTX payload types (RFC 4588) of this transceiver. */
  rtx: readonly number[];
}

/**
 * Which entry a payload type belongs to, and in which role; undefined when none or more
 * than one entry uses it (then it cannot identify an m-line: RFC 8843 §9.2).
 */
export function entryForPayloadType(
  entries: readonly DemuxEntry[],
  payloadType: number,
): { index: number; rtx: boolean } | undefined {
  let found: { index: number; rtx: boolean } | undefined;
  for (const [index, entry] of entries.entries()) {
    const media = entry.media.includes(payloadType);
    const rtx = entry.rtx.includes(payloadType);
    if (!media && !rtx) continue;
    if (found) return undefined; // ambiguous
    found = { index, rtx: !media };
  }
  return found;
}

/** The werift 0.24 internals this file touches (private in its types; stable in 0.24.x). */
interface RouterInternals {
  ssrcTable: Record<number, unknown>;
  ridTable: Record<string, unknown>;
  routeRtp: (packet: RtpPacket) => void;
  registerRtpReceiver(receiver: unknown, ssrc: number): void;
}
interface ReceiverInternals {
  trackBySSRC: Record<number, MediaStreamTrack>;
  ssrcByRtx: Record<number, number>;
  track: MediaStreamTrack;
}

/** Unsignaled SSRCs learned per peer connection at most (a camera restarting its encoder picks a new one). */
const MAX_LEARNED_SSRCS = 16;

/**
 * Makes `pc` route RTP of SSRCs the remote SDP did not signal by payload type (see above):
 * the first packet of such an SSRC registers it with the transceiver whose negotiated codecs
 * include its payload type, on the track werift's onTrack handed out. RTX packets are mapped
 * to the media SSRC learned for the same transceiver.
 */
export function routeUnsignaledSsrcsByPayloadType(
  pc: RTCPeerConnection,
  log: Logger,
  limitLog: RateLimitedLog,
  logKey: string,
): void {
  const router = (pc as unknown as { router: RouterInternals }).router;
  const original = router.routeRtp;
  const primary = new Map<RTCRtpTransceiver, number>();
  let learned = 0;
  router.routeRtp = (packet: RtpPacket) => {
    const { ssrc, payloadType } = packet.header;
    if (router.ssrcTable[ssrc] === undefined && Object.keys(router.ridTable).length === 0) {
      learn(ssrc, payloadType);
    }
    original(packet);
  };

  function learn(ssrc: number, payloadType: number): void {
    const transceivers = pc.getTransceivers();
    const entries = transceivers.map((t) => ({
      media: t.codecs.filter((c) => c.name.toLowerCase() !== 'rtx').map((c) => c.payloadType),
      rtx: t.codecs.filter((c) => c.name.toLowerCase() === 'rtx').map((c) => c.payloadType),
    }));
    const match = entryForPayloadType(entries, payloadType);
    const transceiver = match && transceivers[match.index];
    if (!match || !transceiver || learned >= MAX_LEARNED_SSRCS) {
      limitLog.warn(
        `unrouted-rtp:${logKey}`,
        { ssrc, payloadType, learned },
        'camera RTP matches no negotiated media section: dropped',
      );
      return;
    }
    const receiver = transceiver.receiver as unknown as ReceiverInternals;
    if (match.rtx) {
      const media = primary.get(transceiver);
      if (media === undefined) return; // its media SSRC first; werift drops this one meanwhile
      receiver.ssrcByRtx[ssrc] = media;
    } else {
      receiver.trackBySSRC[ssrc] = receiver.track;
      primary.set(transceiver, ssrc);
    }
    router.registerRtpReceiver(receiver, ssrc);
    learned++;
    log.info(
      { ssrc, payloadType, kind: transceiver.kind, rtx: match.rtx },
      'camera SSRC not signaled in its answer: routed by payload type (RFC 8843 §9.2)',
    );
  }
}
