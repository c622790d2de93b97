import { H264RtpPayload, type RtpPacket } from 'werift';
import type { WhepClient } from './whep-client.js';

/** Video packets a WhepClient receives, in arrival order. */
export function recordVideo(client: WhepClient): RtpPacket[] {
  const packets: RtpPacket[] = [];
  client.pc.onTrack.subscribe((track) => {
    if (track.kind === 'video') track.onReceiveRtp.subscribe((rtp) => packets.push(rtp));
  });
  return packets;
}

/** H.264 RTP packets (in sequence order) as an Annex B byte stream, whole NAL units only. */
export function annexB(packets: RtpPacket[]): Buffer {
  const out: Buffer[] = [];
  let fragment: Buffer | undefined;
  for (const packet of packets) {
    const nal = H264RtpPayload.deSerialize(packet.payload, fragment);
    fragment = nal.fragment;
    if (nal.payload) out.push(nal.payload);
  }
  return Buffer.concat(out);
}
