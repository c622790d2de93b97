import { describe, expect, it } from 'vitest';
import { ffmpegArgs, parseSource } from '../../../agent/ffmpeg-args.js';
import { DEFAULT_STREAM } from '../../../edge-config/index.js';

const ports = { video: 5000, audio: 5002 };
const valueAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('agent ffmpeg arguments', () => {
  it('parses sources and refuses unknown ones', () => {
    expect(parseSource('test')).toEqual({ kind: 'test' });
    expect(parseSource('rtsp://cam/stream')).toEqual({
      kind: 'rtsp',
      url: 'rtsp://cam/stream',
      transport: 'tcp',
    });
    expect(parseSource('rtsp://cam/stream', 'udp')).toEqual({
      kind: 'rtsp',
      url: 'rtsp://cam/stream',
      transport: 'udp',
    });
    expect(parseSource('/dev/video0')).toEqual({ kind: 'v4l2', device: '/dev/video0' });
    expect(() => parseSource('http://x')).toThrow(/unknown source/);
  });

  it('encodes what the edge config asks for, with the matching RTP payload types', () => {
    const h264 = ffmpegArgs({ kind: 'test' }, DEFAULT_STREAM, ports);
    expect(valueAfter(h264, '-c:v')).toBe('libx264');
    expect(valueAfter(h264, '-g')).toBe('30'); // 15 fps x 2 s
    expect(valueAfter(h264, '-c:a')).toBe('libopus');
    const vp8 = ffmpegArgs(
      { kind: 'test' },
      { video: { ...DEFAULT_STREAM.video, codec: 'vp8' }, audio: { codec: 'pcmu' } },
      ports,
    );
    expect(valueAfter(vp8, '-c:v')).toBe('libvpx');
    expect(valueAfter(vp8, '-c:a')).toBe('pcm_mulaw');
    expect(vp8.slice(vp8.indexOf('-c:a'))).toContain('0'); // payload type 0 (RFC 3551)
    const high = ffmpegArgs(
      { kind: 'test' },
      { ...DEFAULT_STREAM, video: { ...DEFAULT_STREAM.video, h264Profile: 'high' } },
      ports,
    );
    expect(valueAfter(high, '-profile:v')).toBe('high');
    expect(valueAfter(h264, '-profile:v')).toBe('baseline');
    const pcma = ffmpegArgs({ kind: 'test' }, { ...DEFAULT_STREAM, audio: { codec: 'pcma' } }, ports);
    expect(valueAfter(pcma, '-c:a')).toBe('pcm_alaw');
    const silent = ffmpegArgs({ kind: 'test' }, { ...DEFAULT_STREAM, audio: { codec: 'none' } }, ports);
    expect(silent).not.toContain('-c:a');
    expect(silent.at(-1)).toBe('rtp://127.0.0.1:5000');
  });

  it("copies an RTSP camera's video instead of re-encoding it", () => {
    const args = ffmpegArgs({ kind: 'rtsp', url: 'rtsp://cam/s', transport: 'tcp' }, DEFAULT_STREAM, ports);
    expect(valueAfter(args, '-c:v')).toBe('copy');
    expect(valueAfter(args, '-rtsp_transport')).toBe('tcp');
  });
});
