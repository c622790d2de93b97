import { describe, expect, it } from 'vitest';
import {
  ParameterSetCollector,
  recorderSdp,
  videoCodecOf,
  withPayloadType,
} from '../../../recordings/rtp-input.js';

const sps = Buffer.from([0x67, 0x42, 0xe0, 0x1f, 0xda]);
const pps = Buffer.from([0x68, 0xce, 0x3c, 0x80]);

describe('RTP input for ffmpeg', () => {
  it('collects SPS and PPS from a STAP-A and from single NAL units', () => {
    const stapA = Buffer.concat([Buffer.from([0x78, 0, sps.length]), sps, Buffer.from([0, pps.length]), pps]);
    const fromStap = new ParameterSetCollector();
    fromStap.add(stapA);
    expect(fromStap.complete).toBe(true);
    expect(fromStap.sps).toEqual(sps);
    expect(fromStap.pps).toEqual(pps);
    const single = new ParameterSetCollector();
    single.add(sps);
    expect(single.complete).toBe(false);
    single.add(pps);
    expect(single.complete).toBe(true);
  });

  it('ignores truncated STAP-A units', () => {
    const collector = new ParameterSetCollector();
    collector.add(Buffer.from([0x78, 0, 50, 0x67, 1, 2]));
    expect(collector.sps).toBeUndefined();
  });

  it('describes H.264 with parameter sets and Opus for ffmpeg', () => {
    const sdp = recorderSdp({
      video: { codec: 'h264', port: 5000, parameterSets: { sps, pps } },
      audio: { codec: 'opus', port: 5002 },
    });
    expect(sdp).toContain('m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n');
    expect(sdp).toContain(`sprop-parameter-sets=${sps.toString('base64')},${pps.toString('base64')}`);
    expect(sdp).toContain('m=audio 5002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2');
  });

  it('describes G.711, and H.264 without parameter sets', () => {
    const sdp = recorderSdp({ video: { codec: 'h264', port: 6000 }, audio: { codec: 'pcma', port: 6002 } });
    expect(sdp).toContain('a=fmtp:96 packetization-mode=1\r\n');
    expect(sdp).toContain('m=audio 6002 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000');
  });

  it('records H.264 only: MP4 cannot hold VP8', () => {
    expect(videoCodecOf('video/H264')).toBe('h264');
    expect(videoCodecOf('video/VP8')).toBeUndefined();
  });

  it('rewrites the payload type and keeps the marker bit', () => {
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 0x80 | 102;
    expect(withPayloadType(header, 96)[1]).toBe(0x80 | 96);
  });
});
