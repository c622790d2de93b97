import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { UdpTarget } from '../../../media/boundary/protocol.js';
import { CameraFeed } from '../../../media/camera-feed.js';
import { captureLog } from '../../helpers/log.js';
import { waitFor } from '../../helpers/wait-for.js';

/** An RTP datagram: version 2, `pt`, sequence `seq`, one payload byte. */
const rtp = (pt: number, seq: number) => {
  const bytes = Buffer.alloc(13);
  bytes[0] = 0x80;
  bytes[1] = pt;
  bytes.writeUInt16BE(seq, 2);
  bytes[12] = seq & 0xff;
  return bytes;
};

describe('a camera feed (an RTP tap over loopback UDP)', () => {
  it('reads each datagram by its payload type, holding those that beat their announcement', async () => {
    const { log } = captureLog();
    const taps: Array<{ video: UdpTarget; audio: UdpTarget }> = [];
    const plane = {
      addTap: (_id: string, _tap: string, video: UdpTarget, audio: UdpTarget) => taps.push({ video, audio }),
      removeTap: () => {},
      requestKeyframe: () => {},
    };
    const feed = new CameraFeed('cam', plane, log);
    const got: string[] = [];
    feed.on('rtp', (kind, mimeType, packet) => got.push(`${kind} ${mimeType} ${packet.sequenceNumber}`));
    const ended: string[] = [];
    feed.on('ended', (reason) => ended.push(reason));
    feed.addDemand('test');
    const [tap] = await waitFor(() => (taps.length ? taps : undefined), { what: 'the tap asked for' });
    const sender = dgram.createSocket('udp4');
    const send = (bytes: Buffer, to: UdpTarget) =>
      new Promise<void>((resolve) => sender.send(bytes, to.port, to.address, () => resolve()));
    try {
      // The camera's PCMU audio and H.264 video arrive before the worker's announcement does.
      await send(rtp(0, 1), tap!.audio);
      await send(rtp(96, 2), tap!.video);
      await waitFor(() => feed.held === 2, { what: 'both held until announced' });
      expect(got).toEqual([]);
      feed.live([
        { payloadType: 96, mimeType: 'video/H264' },
        { payloadType: 0, mimeType: 'audio/PCMU' },
      ]);
      await send(rtp(96, 3), tap!.video);
      await waitFor(() => got.length === 3, { what: 'three packets' });
      expect(got.sort()).toEqual(['audio audio/PCMU 1', 'video video/H264 2', 'video video/H264 3']);
      feed.ended('media-worker-died');
      expect(ended).toEqual(['media-worker-died']);
      feed.ended('camera'); // not streaming any more: nothing more ended
      expect(ended).toEqual(['media-worker-died']);
    } finally {
      sender.close();
      feed.removeDemand('test');
    }
  });
});
