import { createHook } from 'node:async_hooks';
import { createSocket, type Socket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Event,
  getBit,
  int,
  MediaStreamTrack,
  ProtectionProfileAeadAes128Gcm,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpReceiver,
  RtpHeader,
  RtpPacket,
} from 'werift';
import { fuzzRandom } from '../../helpers/random.js';
import { srtpSessionPair } from '../../helpers/srtp-sessions.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * What patches/werift+0.24.4.patch (applied by patch-package at install) changes, tested on
 * real werift peers. docs/decisions.md says why each is a patch.
 */

const peers: RTCPeerConnection[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(peers.splice(0).map((pc) => pc.close()));
  for (const s of sockets.splice(0)) s.close();
});

function peer(): RTCPeerConnection {
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  peers.push(pc);
  return pc;
}

async function gathered(pc: RTCPeerConnection): Promise<string> {
  await waitFor(() => pc.iceGatheringState === 'complete', { timeoutMs: 20_000, what: 'ICE gathering' });
  return pc.localDescription!.sdp;
}

/** The first IPv4 host candidate of an SDP, as [address, port]. */
function firstIpv4Candidate(sdp: string): [string, number] {
  const m = /^a=candidate:\S+ 1 udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host/m.exec(sdp);
  if (!m) throw new Error(`no IPv4 host candidate in\n${sdp}`);
  return [m[1]!, Number(m[2])];
}

/** The SDP with its candidates replaced by one host candidate at 127.0.0.1:port. */
function onlyCandidate(sdp: string, port: number): string {
  const lines = sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates');
  const at = lines.findIndex((l) => l.startsWith('a=ice-ufrag:'));
  lines.splice(at, 0, `a=candidate:1 1 udp 2130706431 127.0.0.1 ${port} typ host`, 'a=end-of-candidates');
  return lines.join('\r\n');
}

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

describe('werift patches', () => {
  it('asks no public STUN server when a peer is given no ICE servers', async () => {
    const looked: string[] = [];
    const lookup = dns.lookup.bind(dns);
    vi.spyOn(dns, 'lookup').mockImplementation(((host: string, ...rest: unknown[]) => {
      looked.push(host);
      return (lookup as (...a: unknown[]) => unknown)(host, ...rest);
    }) as typeof dns.lookup);
    const pc = peer();
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    // werift 0.24 fell back to stun.l.google.com:19302 whenever no STUN server was configured.
    expect(looked).not.toContain('stun.l.google.com');
    expect(pc.iceTransports[0]!.connection.stunServer).toBeUndefined();
  });

  it('completes DTLS although every packet of the DTLS server arrives twice (duplicate HelloVerifyRequest)', async () => {
    // Offerer (DTLS server: werift answers a=setup:active) <-> proxy <-> answerer (DTLS client).
    // The proxy duplicates what the offerer sends: under load a retransmitted ClientHello gets
    // a second HelloVerifyRequest just like this, and werift's client failed the handshake.
    const offerer = peer();
    const answerer = peer();
    offerer.addTransceiver('video', { direction: 'recvonly' });
    const facingAnswerer = await udpSocket();
    const facingOfferer = await udpSocket();

    await offerer.setLocalDescription(await offerer.createOffer());
    const offerSdp = await gathered(offerer);
    const offererAt = firstIpv4Candidate(offerSdp);
    await answerer.setRemoteDescription({
      type: 'offer',
      sdp: onlyCandidate(offerSdp, facingAnswerer.address().port),
    });
    await answerer.setLocalDescription(await answerer.createAnswer());
    const answerSdp = await gathered(answerer);
    let answererAt = firstIpv4Candidate(answerSdp);

    let duplicated = 0;
    facingAnswerer.on('message', (msg, rinfo) => {
      answererAt = [rinfo.address, rinfo.port];
      facingOfferer.send(msg, offererAt[1], offererAt[0]);
    });
    facingOfferer.on('message', (msg) => {
      facingAnswerer.send(msg, answererAt[1], answererAt[0]);
      // RFC 7983: a first byte of 20-63 is DTLS.
      if (msg[0]! >= 20 && msg[0]! <= 63) {
        duplicated++;
        facingAnswerer.send(msg, answererAt[1], answererAt[0]);
      }
    });
    await offerer.setRemoteDescription({
      type: 'answer',
      sdp: onlyCandidate(answerSdp, facingOfferer.address().port),
    });

    const settled = () =>
      [offerer, answerer].every((pc) => pc.connectionState === 'connected') ||
      [offerer, answerer].some((pc) => pc.connectionState === 'failed');
    await waitFor(settled, { timeoutMs: 40_000, what: 'both peers connected (or one failed)' });
    expect(duplicated).toBeGreaterThan(0);
    expect(answerer.connectionState).toBe('connected');
    expect(offerer.connectionState).toBe('connected');
  });

  it("parses an RTP header's bits by arithmetic, with the same results as werift's string version", () => {
    // werift's getBit turned each byte into a binary string; every RTP header (each camera
    // packet, parsed twice) paid six of them. The patch keeps the string path for anything
    // that is not a byte, and must agree with it everywhere else.
    const reference = (bits: number, start: number, length: number) =>
      Number.parseInt(
        bits
          .toString(2)
          .padStart(8, '0')
          .slice(start, start + length),
        2,
      );
    for (let byte = 0; byte < 256; byte++) {
      for (let start = 0; start < 8; start++) {
        for (let length = 1; start + length <= 8; length++) {
          expect(getBit(byte, start, length)).toBe(reference(byte, start, length));
        }
      }
    }
    const packet = Buffer.from('b1e0123400bc614e1234567811111111222222220000', 'hex');
    const numberToString = vi.spyOn(Number.prototype, 'toString');
    const header = RtpHeader.deSerialize(packet);
    expect(numberToString).not.toHaveBeenCalled();
    expect(header).toMatchObject({
      version: 2,
      padding: true,
      extension: true,
      csrcLength: 1,
      marker: true,
      payloadType: 96,
      sequenceNumber: 0x1234,
      timestamp: 0xbc614e,
      ssrc: 0x12345678,
    });
  });

  it('truncates numbers without printing them (int), and still parses strings', () => {
    const parsed = vi.spyOn(Number, 'parseInt');
    expect([int(1.7), int(-1.5), int(0), int(1e-7), int(153_000_000_000_000.5)]).toEqual([
      1, -1, 0, 0, 153_000_000_000_000,
    ]);
    expect(parsed).not.toHaveBeenCalled();
    expect(int('42' as unknown as number)).toBe(42);
  });

  it("sorts a receiver's codecs once per negotiation, not for every packet", () => {
    const receiver = new RTCRtpReceiver({} as never, 'video', 1);
    const codec = (payloadType: number, mimeType: string) =>
      new RTCRtpCodecParameters({ payloadType, mimeType, clockRate: 90000 });
    receiver.prepareReceive({
      codecs: [codec(102, 'video/H264'), codec(96, 'video/VP8')],
      encodings: [],
    } as never);
    // Private in werift's types; read the way handleRTP does.
    const sorted = () => (receiver as unknown as { codecArray: RTCRtpCodecParameters[] }).codecArray;
    const first = sorted();
    expect(first.map((c) => c.payloadType)).toEqual([96, 102]);
    expect(sorted()).toBe(first);
    // A new negotiation (renegotiation adds a codec) is seen at once.
    receiver.prepareReceive({ codecs: [codec(97, 'video/rtx')], encodings: [] } as never);
    expect(sorted().map((c) => c.payloadType)).toEqual([96, 97, 102]);
  });

  it('decrypts AES-GCM SRTP into a buffer it fills whole, and still refuses a forged packet', () => {
    const random = fuzzRandom(0x6c3);
    const { sender, receiver } = srtpSessionPair(random, ProtectionProfileAeadAes128Gcm);
    for (let i = 0; i < 50; i++) {
      const header = new RtpHeader({
        payloadType: 96,
        sequenceNumber: 1000 + i,
        timestamp: random.int(0x1_0000_0000),
        ssrc: 0x1234,
        // CSRCs move the payload's offset: the patched buffer must start the payload there.
        csrc: Array.from({ length: i % 3 }, () => random.int(0x1_0000_0000)),
        csrcLength: i % 3,
      });
      const payload = random.bytes(1 + random.int(1300));
      const plain = Buffer.concat([header.serialize(header.serializeSize), payload]);
      expect(receiver.decrypt(sender.encrypt(payload, header))).toEqual(plain);
    }
    const forged = sender.encrypt(
      Buffer.from('hello'),
      new RtpHeader({ sequenceNumber: 2000, ssrc: 0x1234 }),
    );
    forged[forged.length - 1]! ^= 1;
    expect(() => receiver.decrypt(forged)).toThrow();
  });
  it("lets the application decrypt AES-GCM SRTP (decryptPayload), keeping werift's header, rollover and error", () => {
    const random = fuzzRandom(0x6c4);
    const pair = srtpSessionPair(random, ProtectionProfileAeadAes128Gcm);
    const { sender, receiver } = pair;
    const reference = pair.anotherReceiver();
    const calls: Array<[number, number]> = [];
    let refuse = false;
    const cipher = receiver.remoteContext.cipher as unknown as {
      decryptPayload?: (packet: Buffer, payloadOffset: number, roc: number) => Buffer | undefined;
    };
    // What Lookout's addon returns, computed here by a second werift session with the same keys.
    cipher.decryptPayload = (packet, payloadOffset, roc) => {
      calls.push([payloadOffset, roc]);
      return refuse ? undefined : reference.decrypt(packet);
    };
    const packet = (seq: number) =>
      sender.encrypt(
        random.bytes(100),
        new RtpHeader({ sequenceNumber: seq, ssrc: 0x1234, csrc: [7], csrcLength: 1 }),
      );
    expect(receiver.decrypt(packet(0xfffe)).length).toBe(12 + 4 + 100);
    expect(calls.at(-1)).toEqual([16, 0]);
    refuse = true;
    expect(() => receiver.decrypt(packet(1))).toThrow('Failed to authenticate SRTP packet');
    refuse = false;
    // The refused packet did not move the rollover counter: 0xffff is still in roll 0, 2 in roll 1.
    receiver.decrypt(packet(0xffff));
    expect(calls.at(-1)).toEqual([16, 0]);
    receiver.decrypt(packet(2));
    expect(calls.at(-1)).toEqual([16, 1]);
  });

  it('runs an event without a promise when nothing awaits it, and still awaits a queuing subscriber', async () => {
    // werift's Event started an async function for its awaited subscribers on every execute,
    // awaited or not: a promise and a microtask for each of the several events of every packet.
    let promises = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'PROMISE') promises++;
      },
    }).enable();
    const event = new Event<[number]>();
    const seen: number[] = [];
    event.subscribe((n) => seen.push(n));
    try {
      for (let i = 0; i < 10; i++) event.execute(i);
      expect(promises).toBe(0);
    } finally {
      hook.disable();
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const queued: number[] = [];
    event.queuingSubscribe(async (n) => {
      await new Promise((r) => setTimeout(r, 1));
      queued.push(n);
    });
    event.execute(10);
    event.execute(11);
    await waitFor(() => queued.length === 2, { timeoutMs: 5000, what: 'the queuing subscriber' });
    expect(queued).toEqual([10, 11]);
  });

  it('hands each received RTP packet to its track as decrypted, its header parsed once, not copied', async () => {
    // Before: werift parsed every SRTP packet's header to decrypt it, parsed it again from the
    // plaintext, and gave the track a copy of the header (handleRTP's packet.clone()).
    const sender = peer();
    const receiver = peer();
    const outgoing = new MediaStreamTrack({ kind: 'video' });
    sender.addTransceiver(outgoing, { direction: 'sendonly' });
    const received: RtpPacket[] = [];
    receiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => received.push(p)));
    await sender.setLocalDescription(await sender.createOffer());
    await receiver.setRemoteDescription({ type: 'offer', sdp: await gathered(sender) });
    await receiver.setLocalDescription(await receiver.createAnswer());
    await sender.setRemoteDescription({ type: 'answer', sdp: await gathered(receiver) });
    await waitFor(() => [sender, receiver].every((pc) => pc.connectionState === 'connected'), {
      timeoutMs: 40_000,
      what: 'both peers connected',
    });
    const random = fuzzRandom(0x5e7);
    const payloadType = sender.getTransceivers()[0]!.codecs[0]!.payloadType;
    const sent = Array.from({ length: 40 }, (_, i) => ({
      sequenceNumber: 500 + i,
      timestamp: 90_000 + i * 3000,
      marker: i % 4 === 3,
      payload: random.bytes(1 + random.int(1200)),
    }));
    const parsed = vi.spyOn(RtpHeader, 'deSerialize');
    const cloned = vi.spyOn(RtpPacket.prototype, 'clone');
    // Until the receiver has its track (werift creates it on the first packet's SSRC), resend.
    await waitFor(
      () => {
        if (received.length === 0) outgoing.writeRtp(rtp(sent[0]!, payloadType));
        return received.length > 0;
      },
      { timeoutMs: 20_000, what: 'the first packet received' },
    );
    received.length = 0;
    parsed.mockClear();
    for (const p of sent.slice(1)) outgoing.writeRtp(rtp(p, payloadType));
    await waitFor(() => received.length >= sent.length - 1, {
      timeoutMs: 20_000,
      what: 'every packet received',
    });
    expect(received.map((p) => [p.header.sequenceNumber, p.header.timestamp, p.header.marker])).toEqual(
      sent.slice(1).map((p) => [p.sequenceNumber, p.timestamp, p.marker]),
    );
    expect(received.map((p) => p.payload)).toEqual(sent.slice(1).map((p) => p.payload));
    // Once per packet for decryption (the sender serializes, it does not parse).
    expect(parsed.mock.calls.length).toBe(sent.length - 1);
    expect(cloned).not.toHaveBeenCalled();
  });
});

function rtp(
  p: { sequenceNumber: number; timestamp: number; marker: boolean; payload: Buffer },
  payloadType: number,
) {
  return new RtpPacket(
    new RtpHeader({
      payloadType,
      sequenceNumber: p.sequenceNumber,
      timestamp: p.timestamp,
      marker: p.marker,
    }),
    p.payload,
  );
}
