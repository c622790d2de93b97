import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { CameraPeer } from '../../agent/camera-peer.js';
import { silentLogger } from '../../core/log.js';
import { RateLimitedLog } from '../../core/rate-limited-log.js';
import { BatchedReads } from '../../media/held-socket.js';
import { UpstreamPeer } from '../../media/upstream-peer.js';
import { udpSocketRows } from '../helpers/udp-sockets.js';
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

  async function connect(options: { stripSsrc: boolean; reads?: BatchedReads }) {
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
      () => performance.now(),
      options.reads,
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

  /** Calls `send(1)`, `send(2)`, ... every 10 ms until `enough` is true; returns how many were sent. */
  async function stream(send: (seq: number) => void, enough: () => boolean): Promise<number> {
    let seq = 0;
    const timer = setInterval(() => send(++seq), 10);
    try {
      await waitFor(enough, { timeoutMs: 15_000, what: 'RTP at the media node' });
    } finally {
      clearInterval(timer);
    }
    return seq;
  }

  /** Sends one video frame packet numbered `seq` (a keyframe NAL every 15th). */
  const videoFrame = (camera: CameraPeer) => (seq: number) => {
    const header = new RtpHeader({
      sequenceNumber: seq,
      timestamp: seq * 3000,
      marker: true,
      payloadType: 96,
    });
    camera.send('video', new RtpPacket(header, Buffer.from([seq % 15 === 1 ? 0x65 : 0x41, 0x88, 0x84])));
  };

  it('says "camera streaming" on the first RTP packet, not when ICE connects', async () => {
    const peer = await connect({ stripSsrc: false });
    // Connected, and the camera has sent nothing at all: no "streaming" yet.
    expect(peer.count('camera ICE connected')).toBe(1);
    expect(peer.count('camera streaming')).toBe(0);
    await stream(videoFrame(peer.camera), () => peer.received.length >= 20);
    expect(peer.count('camera streaming')).toBe(1);
    expect(peer.received[0]).toEqual({ kind: 'video', mimeType: 'video/H264' });
    // SSRCs announced: nothing routed by payload type.
    expect(peer.lines.filter((l) => l.msg.includes('routed by payload type'))).toEqual([]);
  });

  /**
   * Video packets whose payload carries the number they were sent as (werift's sender adds a
   * random offset to sequence numbers): `sent(p)` reads it back.
   */
  function numbered(camera: CameraPeer) {
    const payload = (n: number) => Buffer.from([0x41, n >> 8, n & 0xff]);
    return {
      send: (n: number) =>
        camera.send(
          'video',
          new RtpPacket(
            new RtpHeader({ sequenceNumber: n, timestamp: n * 3000, payloadType: 96 }),
            payload(n),
          ),
        ),
      sent: (p: RtpPacket) => (p.payload[1]! << 8) | p.payload[2]!,
    };
  }

  /** Sends numbered packets every 10 ms until five arrived, then waits for every one sent; returns how many. */
  async function sendLive(
    peer: Awaited<ReturnType<typeof connect>>,
    send: (n: number) => void,
  ): Promise<number> {
    const n = await stream(send, () => peer.packets.length >= 5);
    await waitFor(() => peer.packets.length === n, { timeoutMs: 15_000, what: 'every packet sent live' });
    return n;
  }

  it("holds the camera's SRTP undecrypted while told to, across a sequence wrap, and delivers it in order on catch-up", async () => {
    const peer = await connect({ stripSsrc: false });
    const { send, sent } = numbered(peer.camera);
    const n = await sendLive(peer, send);
    const first = peer.packets[0]!;
    const offset = (first.header.sequenceNumber - sent(first)) & 0xffff;

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

  /** Bytes the kernel has queued for the sockets on these local ports, not yet read. */
  const kernelQueued = (ports: number[]) =>
    udpSocketRows()
      .filter((row) => ports.includes(row.localPort))
      .reduce((sum, row) => sum + row.rxQueue, 0);

  it("reads a held camera's socket in batches: the kernel queues its datagrams between ticks, and none is lost", async () => {
    const reads = new BatchedReads(0); // ticks driven by the test
    const peer = await connect({ stripSsrc: false, reads });
    const { send, sent } = numbered(peer.camera);
    let n = await sendLive(peer, send);

    peer.upstream.hold(() => 60_000);
    const readers = peer.upstream.heldSocketReaders;
    // One for each host candidate's socket (werift takes SRTP on any of them).
    expect(readers.length).toBe(peer.upstream.localHostCandidates().length);
    expect(readers.some((r) => r.batching)).toBe(false); // continuously at first
    // Quiet ticks: each socket is judged able to queue a tick's datagrams, and pauses between ticks.
    for (let tick = 0; tick < 40; tick++) reads.tick();
    const paused = () => readers.every((r) => r.batching && r.paused);
    await waitFor(paused, { timeoutMs: 15_000, what: 'the sockets paused' });

    const ports = peer.upstream.localHostCandidates().map((c) => c.port);
    const held = peer.upstream.heldPackets;
    send(++n);
    await waitFor(() => kernelQueued(ports) > 0, {
      timeoutMs: 15_000,
      what: 'a datagram queued in the kernel',
    });
    const one = kernelQueued(ports);
    const batch = [n];
    for (let i = 0; i < 19; i++) batch.push(++n);
    for (const number of batch.slice(1)) send(number);
    // All twenty wait in the kernel at once: nothing reads the socket until the next tick.
    await waitFor(() => kernelQueued(ports) >= 20 * one, {
      timeoutMs: 15_000,
      what: 'twenty datagrams queued',
    });
    expect(peer.upstream.heldPackets).toBe(held);

    reads.tick(); // reads what the kernel queued, then pauses again
    await waitFor(() => peer.upstream.heldPackets === held + 20 && paused(), {
      timeoutMs: 15_000,
      what: 'the batch read and held',
    });
    const delivered = peer.packets.length;
    peer.upstream.catchUp();
    expect(peer.packets.slice(delivered).slice(-20).map(sent)).toEqual(batch);

    peer.upstream.hold(undefined); // werift reads the socket itself again
    expect(peer.upstream.heldSocketReaders).toEqual([]);
    expect(reads.size).toBe(0);
    send(++n);
    await waitFor(() => sent(peer.packets.at(-1)!) === n, { timeoutMs: 15_000, what: 'live again' });
  });

  it('routes the RTP of an SSRC the answer did not announce by payload type (RFC 8843 §9.2)', async () => {
    const peer = await connect({ stripSsrc: true });
    await stream(videoFrame(peer.camera), () => peer.received.length >= 20);
    expect(peer.received.every((p) => p.kind === 'video' && p.mimeType === 'video/H264')).toBe(true);
    expect(peer.lines.filter((l) => l.msg.includes('routed by payload type'))).toHaveLength(1);
    expect(peer.count('camera streaming')).toBe(1);
  });
});
