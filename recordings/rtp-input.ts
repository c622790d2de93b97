/**
 * What ffmpeg needs to read the camera's RTP: an SDP naming codecs and ports, the H.264
 * parameter sets (so the MP4 header is right from the first fragment), and packets with
 * the payload types that SDP declares. Pure: no sockets.
 */

/** Recordings are MP4, which holds H.264 (ffmpeg's MP4 muxer refuses VP8). */
export type VideoCodec = 'h264';
export type AudioCodec = 'opus' | 'pcmu' | 'pcma';

export const VIDEO_PT = 96;
const AUDIO_PT: Record<AudioCodec, number> = { opus: 111, pcmu: 0, pcma: 8 };

export function videoCodecOf(mimeType: string): VideoCodec | undefined {
  const codec = mimeType.toLowerCase();
  if (codec === 'video/h264') return 'h264';
  return undefined;
}

export function audioCodecOf(mimeType: string): AudioCodec | undefined {
  const codec = mimeType.toLowerCase();
  if (codec === 'audio/opus') return 'opus';
  if (codec === 'audio/pcmu') return 'pcmu';
  if (codec === 'audio/pcma') return 'pcma';
  return undefined;
}

export function audioPayloadType(codec: AudioCodec): number {
  return AUDIO_PT[codec];
}

export interface SdpInput {
  video: { codec: VideoCodec; port: number; parameterSets?: { sps: Buffer; pps: Buffer } };
  audio?: { codec: AudioCodec; port: number };
}

/** An SDP for ffmpeg's RTP demuxer, everything on 127.0.0.1. */
export function recorderSdp(input: SdpInput): string {
  const lines = [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=Lookout recorder',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=video ${input.video.port} RTP/AVP ${VIDEO_PT}`,
  ];
  lines.push(`a=rtpmap:${VIDEO_PT} H264/90000`);
  const sets = input.video.parameterSets;
  const sprop = sets
    ? `;sprop-parameter-sets=${sets.sps.toString('base64')},${sets.pps.toString('base64')}`
    : '';
  lines.push(`a=fmtp:${VIDEO_PT} packetization-mode=1${sprop}`);
  if (input.audio) {
    const pt = AUDIO_PT[input.audio.codec];
    lines.push(`m=audio ${input.audio.port} RTP/AVP ${pt}`);
    if (input.audio.codec === 'opus') lines.push(`a=rtpmap:${pt} opus/48000/2`);
    else lines.push(`a=rtpmap:${pt} ${input.audio.codec.toUpperCase()}/8000`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Collects an H.264 SPS and PPS from RTP payloads (single NAL units and STAP-A; RFC 6184).
 * Feed it payloads until `complete`.
 */
export class ParameterSetCollector {
  sps: Buffer | undefined;
  pps: Buffer | undefined;

  get complete(): boolean {
    return this.sps !== undefined && this.pps !== undefined;
  }

  add(payload: Uint8Array): void {
    if (payload.length < 2) return;
    const type = payload[0]! & 0x1f;
    if (type === 24) {
      let offset = 1;
      while (offset + 2 <= payload.length) {
        const size = (payload[offset]! << 8) | payload[offset + 1]!;
        offset += 2;
        if (size === 0 || offset + size > payload.length) return;
        this.#nal(payload.subarray(offset, offset + size));
        offset += size;
      }
      return;
    }
    this.#nal(payload);
  }

  #nal(nal: Uint8Array): void {
    const type = nal[0]! & 0x1f;
    if (type === 7) this.sps = Buffer.from(nal);
    else if (type === 8) this.pps = Buffer.from(nal);
  }
}

/**
 * The packet as bytes with the payload type the SDP declares. The input is the shared
 * packet every viewer also reads, so it is serialized, never modified.
 */
export function withPayloadType(serialized: Buffer, payloadType: number): Buffer {
  if (serialized.length >= 12) serialized[1] = (serialized[1]! & 0x80) | (payloadType & 0x7f);
  return serialized;
}
