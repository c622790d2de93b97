import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { CameraPeer } from '../../agent/camera-peer.js';
import { silentLogger } from '../../core/log.js';
import { RateLimitedLog } from '../../core/rate-limited-log.js';
import { UpstreamPeer } from '../../media/upstream-peer.js';
import { waitFor } from '../helpers/wait-for.js';

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Array<{ msg: string; [key: string]: unknown }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines, count: (msg: string) => lines.filter((l) => l.msg === msg).length };
}

// The media node's peer to a camera and a werift camera peer, in one process, real UDP sockets.
describe('UpstreamPeer (real werift peers, no signaling)', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function connect(options: { stripSsrc: boolean }) {
    const captured = capturingLogger();
    const received: Array<{ kind: string; mimeType: string }> = [];
    const packets: RtpPacket[] = [];
    let bytes = 0;
    const states: string[] = [];
    const upstream = new UpstreamPeer(
      'session-0001',
      { iceServers: [], additionalHostAddresses: [] },
      {
        rtp: (kind, mimeType, packet) => {
          received.push({ kind, mimeType });
          packets.push(packet);
        },
        received: (n) => {
          bytes += n;
        },
        state: (s) => states.push(s),
      },
      captured.log,
      new RateLimitedLog(captured.log, () => performance.now()),
    );
    const camera = new CameraPeer(
      'session-0001',
      { iceServers: [], additionalHostAddresses: [], forceRelay: false, video: 'H264', audio: 'opus' },
      { keyframeRequest: () => {}, candidate: () => {}, state: () => {} },
      silentLogger(),
    );
    closers.push(
      () => upstream.close(),
      () => camera.close(),
    );
    let answer = await camera.answer(await upstream.createOffer());
    expect(answer).toMatch(/a=ssrc:/);
    if (options.stripSsrc) answer = answer.replace(/^a=ssrc(-group)?:.*\r?\n/gm, '');
    await upstream.applyAnswer(answer);
    await waitFor(() => states.includes('connected'), { timeoutMs: 15_000, what: 'ICE and DTLS connected' });
    return { ...captured, received, packets, bytes: () => bytes, camera, upstream };
  }

  /** Sends video packets every 10 ms until `enough` is true. */
  async function stream(camera: CameraPeer, enough: () => boolean): Promise<void> {
    let seq = 0;
    const timer = setInterval(() => {
      seq++;
      const header = new RtpHeader({
        sequenceNumber: seq,
        timestamp: seq * 3000,
        marker: true,
        payloadType: 96,
      });
      camera.send('video', new RtpPacket(header, Buffer.from([seq % 15 === 1 ? 0x65 : 0x41, 0x88, 0x84])));
    }, 10);
    try {
      await waitFor(enough, { timeoutMs: 15_000, what: 'RTP at the media node' });
    } finally {
      clearInterval(timer);
    }
  }

  it('says "camera streaming" on the first RTP packet, not when ICE connects', async () => {
    const peer = await connect({ stripSsrc: false });
    // Connected, and the camera has sent nothing at all: no "streaming" yet.
    expect(peer.count('camera ICE connected')).toBe(1);
    expect(peer.count('camera streaming')).toBe(0);
    await stream(peer.camera, () => peer.received.length >= 20);
    expect(peer.count('camera streaming')).toBe(1);
    expect(peer.received[0]).toEqual({ kind: 'video', mimeType: 'video/H264' });
    // SSRCs announced: nothing routed by payload type.
    expect(peer.lines.filter((l) => l.msg.includes('routed by payload type'))).toEqual([]);
  });

  it("holds the camera's SRTP undecrypted while told to, across a sequence wrap, and delivers it in order on catch-up", async () => {
    const peer = await connect({ stripSsrc: false });
    // Each payload carries the number it was sent as; werift's sender adds a random offset to
    // sequence numbers, read from the first packet that arrives.
    const payload = (n: number) => Buffer.from([0x41, n >> 8, n & 0xff]);
    const sent = (p: RtpPacket) => (p.payload[1]! << 8) | p.payload[2]!;
    const send = (n: number) =>
      peer.camera.send(
        'video',
        new RtpPacket(new RtpHeader({ sequenceNumber: n, timestamp: n * 3000, payloadType: 96 }), payload(n)),
      );
    let n = 0;
    const timer = setInterval(() => send(++n), 10);
    try {
      await waitFor(() => peer.packets.length >= 5, { timeoutMs: 15_000, what: 'RTP at the media node' });
    } finally {
      clearInterval(timer);
    }
    const first = peer.packets[0]!;
    const offset = (first.header.sequenceNumber - sent(first)) & 0xffff;
    await waitFor(() => peer.packets.length === n, { timeoutMs: 15_000, what: 'every packet sent live' });

    peer.upstream.hold(() => 60_000);
    const bytesBefore = peer.bytes();
    // Wire sequence numbers 65530..65535 then 0..9: the SRTP rollover counter turns while held.
    const wire = [
      ...Array.from({ length: 6 }, (_, i) => 65530 + i),
      ...Array.from({ length: 10 }, (_, i) => i),
    ];
    const numbers = wire.map((w) => (w - offset) & 0xffff);
    for (const number of numbers) send(number);
    await waitFor(() => peer.upstream.heldPackets === wire.length, {
      timeoutMs: 15_000,
      what: 'the packets held',
    });
    expect(peer.packets.length).toBe(n); // held, so not delivered
    expect(peer.bytes()).toBeGreaterThan(bytesBefore); // though counted as received

    peer.upstream.catchUp(); // delivers synchronously, and goes on holding
    expect(peer.upstream.heldPackets).toBe(0);
    const caught = peer.packets.slice(n);
    expect(caught.map((p) => p.header.sequenceNumber)).toEqual(wire);
    expect(caught.map(sent)).toEqual(numbers);

    send((10 - offset) & 0xffff);
    await waitFor(() => peer.upstream.heldPackets === 1, { timeoutMs: 15_000, what: 'a packet held again' });
    peer.upstream.hold(undefined); // stops holding: what was held is delivered, then live
    send((11 - offset) & 0xffff);
    await waitFor(() => peer.packets.length === n + wire.length + 2, {
      timeoutMs: 15_000,
      what: 'live again',
    });
    expect(peer.packets.slice(-2).map((p) => p.header.sequenceNumber)).toEqual([10, 11]);
    expect(peer.upstream.heldPackets).toBe(0);
  });

  it('routes the RTP of an SSRC the answer did not announce by payload type (RFC 8843 §9.2)', async () => {
    const peer = await connect({ stripSsrc: true });
    await stream(peer.camera, () => peer.received.length >= 20);
    expect(peer.received.every((p) => p.kind === 'video' && p.mimeType === 'video/H264')).toBe(true);
    expect(peer.lines.filter((l) => l.msg.includes('routed by payload type'))).toHaveLength(1);
    expect(peer.count('camera streaming')).toBe(1);
  });
});
