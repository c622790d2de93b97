import { RTCRtpCodecParameters } from 'werift';

/**
 * The codecs the media node negotiates, with each side (camera and viewers). werift 0.24
 * enables H.264 only when listed explicitly. Order is preference.
 */
const videoFeedback = [
  { type: 'nack' },
  { type: 'nack', parameter: 'pli' },
  { type: 'ccm', parameter: 'fir' },
];

function h264(payloadType: number, profileLevelId: string): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90_000,
    payloadType,
    rtcpFeedback: videoFeedback,
    parameters: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profileLevelId}`,
  });
}

/** RFC 4588 retransmission stream for the codec with payload type `apt`. */
function rtx(payloadType: number, apt: number): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'video/rtx',
    clockRate: 90_000,
    payloadType,
    parameters: `apt=${apt}`,
  });
}

/** Video codecs, each followed by its RTX (werift retransmits on NACK in RTX when negotiated, in-band otherwise). */
export function videoCodecs(): RTCRtpCodecParameters[] {
  return [
    // Constrained baseline, main and high: what cameras produce. Browsers decode all three.
    h264(96, '42e01f'),
    rtx(97, 96),
    h264(98, '4d001f'),
    rtx(99, 98),
    h264(100, '64001f'),
    rtx(101, 100),
    new RTCRtpCodecParameters({
      mimeType: 'video/VP8',
      clockRate: 90_000,
      payloadType: 102,
      rtcpFeedback: videoFeedback,
    }),
    rtx(103, 102),
  ];
}

/** The RTX codec for `codec` among `codecs` (matched by apt), if negotiated. */
export function rtxFor<
  C extends { mimeType: string; payloadType?: number | undefined; parameters?: string | undefined },
>(codecs: C[], codec: { payloadType?: number | undefined }): C | undefined {
  return codecs.find(
    (c) => c.mimeType.toLowerCase() === 'video/rtx' && c.parameters?.includes(`apt=${codec.payloadType}`),
  );
}

export function audioCodecs(): RTCRtpCodecParameters[] {
  return [
    new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 111 }),
    new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 }),
    new RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 }),
  ];
}

/** Clock rate of a negotiated codec's mime type (RTP timestamps advance at this rate). */
export function clockRateOf(mimeType: string): number {
  const lower = mimeType.toLowerCase();
  if (lower === 'audio/opus') return 48_000;
  if (lower === 'audio/pcmu' || lower === 'audio/pcma') return 8000;
  return 90_000;
}
