import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, type RtpPacket, type SrtpSession } from 'werift';
import { decryptNatively } from '../../media/native-decrypt.js';
import type { NativeSrtp } from '../../media/native-srtp.js';
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from '../../media/srtp-protect.js';
import { udpHandle } from '../../media/udp-handle.js';
import { ViewerRtpSender } from '../../media/viewer-rtp-sender.js';
import { fuzzRandom } from '../helpers/random.js';
import { srtpSessionPair } from '../helpers/srtp-sessions.js';
import { requireNativeSrtp } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const addon = requireNativeSrtp();

const PROFILES = [
  ['AEAD_AES_128_GCM', SRTP_AEAD_AES_128_GCM],
  ['AES128_CM_HMAC_SHA1_80', SRTP_AES128_CM_HMAC_SHA1_80],
] as const;

function nativeSession(native: NativeSrtp, sender: SrtpSession, profile: number) {
  const c = sender.localContext;
  return native.session(profile, c.srtpSessionKey, c.srtpSessionSalt, c.srtpSessionAuthTag);
}

const sockets: Socket[] = [];
const peers: RTCPeerConnection[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((pc) => pc.close()));
  for (const s of sockets.splice(0)) s.close();
});

async function udpSocket(type: 'udp4' | 'udp6' = 'udp4'): Promise<Socket> {
  const s = createSocket(type);
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  return s;
}

/**
 * media/native/srtp-send.c (D43): SRTP with OpenSSL contexts kept per session, written with one
 * sendmsg. It must produce werift's bytes exactly (viewers decrypt with the keys werift
 * negotiated), refuse bad arguments with an error instead of crashing, and report a failed send
 * as a negative errno.
 */
describe.runIf(addon)('native SRTP sender', () => {
  const native = addon!;

  for (const [name, profile] of PROFILES) {
    it(`${name}: the same bytes as werift's encrypt, across a sequence number wrap, any length`, () => {
      const random = fuzzRandom(0x4a71);
      const { sender, receiver } = srtpSessionPair(random, profile);
      const session = nativeSession(native, sender, profile);
      const ssrc = random.int(0x1_0000_0000);
      let seq = 0xffff - random.int(40);
      let roc = 0;
      for (let i = 0; i < 120; i++) {
        const payload = random.bytes(2 + random.int(i % 10 === 0 ? 4000 : 1300)).subarray(1);
        const header = new RtpHeader({
          payloadType: 96,
          marker: random.chance(0.1),
          sequenceNumber: seq,
          timestamp: random.int(0x1_0000_0000),
          ssrc,
        });
        const expected = sender.encrypt(payload, header);
        const serialized = header.serialize(12);
        const ours = Buffer.concat([serialized, native.protect(session, serialized, payload, roc)]);
        expect(ours.equals(expected), `packet ${i} (seq ${seq}, roc ${roc})`).toBe(true);
        expect(receiver.decrypt(ours).subarray(12).equals(payload)).toBe(true);
        seq = (seq + 1) & 0xffff;
        if (seq === 0) roc++;
      }
      expect(roc).toBe(1);
    });
  }

  it("AEAD_AES_128_GCM: decrypts what werift's encrypt made, CSRCs and extensions too, and refuses a forgery", () => {
    const random = fuzzRandom(0xdec7);
    const { sender, receiver } = srtpSessionPair(random, SRTP_AEAD_AES_128_GCM);
    const c = receiver.remoteContext;
    const session = native.session(
      SRTP_AEAD_AES_128_GCM,
      c.srtpSessionKey,
      c.srtpSessionSalt,
      undefined,
      true,
    );
    let seq = 0xffff - random.int(40);
    let roc = 0;
    for (let i = 0; i < 120; i++) {
      const header = new RtpHeader({
        payloadType: 96,
        marker: random.chance(0.1),
        sequenceNumber: seq,
        timestamp: random.int(0x1_0000_0000),
        ssrc: 0x1234_5678,
        csrc: random.chance(0.2) ? [random.int(0x1_0000_0000)] : [],
        extension: i % 7 === 3,
        extensionProfile: 0xbede,
        extensions: i % 7 === 3 ? [{ id: 1, payload: random.bytes(1 + random.int(8)) }] : [],
      });
      const payload = random.bytes(1 + random.int(1300));
      const packet = sender.encrypt(payload, header);
      const offset = RtpHeader.deSerialize(packet).payloadOffset;
      const plain = native.unprotect(session, packet, offset, roc);
      expect(plain?.equals(receiver.decrypt(packet)), `packet ${i}`).toBe(true);
      const forged = Buffer.from(packet);
      forged[forged.length - 1]! ^= 1;
      expect(native.unprotect(session, forged, offset, roc)).toBeUndefined();
      expect(native.unprotect(session, packet, offset, roc + 1)).toBeUndefined(); // the wrong ROC
      seq = (seq + 1) & 0xffff;
      if (seq === 0) roc++;
    }
    // A sending session cannot decrypt, nor a decrypting one send; a payload offset past the tag is refused.
    const sending = nativeSession(native, sender, SRTP_AEAD_AES_128_GCM);
    expect(() => native.unprotect(sending, Buffer.alloc(40), 12, 0)).toThrow(TypeError);
    expect(() => native.protect(session, Buffer.alloc(12), Buffer.alloc(1), 0)).toThrow(TypeError);
    expect(() => native.unprotect(session, Buffer.alloc(27), 12, 0)).toThrow(TypeError);
    expect(() =>
      native.session(SRTP_AES128_CM_HMAC_SHA1_80, Buffer.alloc(16), Buffer.alloc(14), Buffer.alloc(20), true),
    ).toThrow(TypeError);
  });

  it('writes header, ciphertext and tag as one datagram to the destination, v4 and v6', async () => {
    const random = fuzzRandom(0x5e4d);
    for (const family of ['udp4', 'udp6'] as const) {
      const { sender, receiver } = srtpSessionPair(random, SRTP_AEAD_AES_128_GCM);
      const session = nativeSession(native, sender, SRTP_AEAD_AES_128_GCM);
      const [from, to] = [await udpSocket(family), await udpSocket(family)];
      const got: Buffer[] = [];
      to.on('message', (m) => got.push(m));
      expect(native.destination(session, to.address().address, to.address().port)).toBe(true);
      const sent = Array.from({ length: 20 }, (_, i) => ({
        header: new RtpHeader({ payloadType: 96, sequenceNumber: 100 + i, timestamp: i * 3000, ssrc: 7 }),
        payload: random.bytes(1 + random.int(1200)),
      }));
      const fd = udpHandle(from)!.fd;
      for (const p of sent) {
        const bytes = native.send(session, fd, p.header.serialize(12), p.payload, 0);
        expect(bytes).toBe(12 + p.payload.length + 16);
      }
      await waitFor(() => got.length === sent.length, { timeoutMs: 10_000, what: `${family} datagrams` });
      expect(got.map((m) => receiver.decrypt(m).subarray(12))).toEqual(sent.map((p) => p.payload));
    }
  });

  it('reports a closed socket or a missing destination as a negative errno, and takes no name', async () => {
    const random = fuzzRandom(0x0bad);
    const { sender } = srtpSessionPair(random, SRTP_AES128_CM_HMAC_SHA1_80);
    const session = nativeSession(native, sender, SRTP_AES128_CM_HMAC_SHA1_80);
    const header = new RtpHeader({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1 }).serialize(12);
    const socket = await udpSocket();
    const handle = udpHandle(socket)!;
    expect(native.send(session, handle.fd, header, Buffer.alloc(10), 0)).toBe(-89); // EDESTADDRREQ
    for (const name of ['localhost', 'fe80::1%lo', '1.2.3', '']) {
      expect(native.destination(session, name, 5000)).toBe(false);
    }
    expect(native.destination(session, '127.0.0.1', 9)).toBe(true);
    await new Promise<void>((resolve) => socket.close(resolve));
    sockets.splice(sockets.indexOf(socket), 1);
    expect(handle.fd).toBeLessThan(0); // what ViewerRtpSender checks before each send
    // A descriptor number nothing has open: EBADF, not a crash.
    expect(native.send(session, 1_000_000, header, Buffer.alloc(10), 0)).toBe(-9);
  });

  it('refuses bad arguments with a coded TypeError', () => {
    const random = fuzzRandom(0xa59);
    const { sender } = srtpSessionPair(random, SRTP_AEAD_AES_128_GCM);
    const session = nativeSession(native, sender, SRTP_AEAD_AES_128_GCM);
    const header = Buffer.alloc(12, 0x80);
    const bad: Array<[string, () => unknown]> = [
      ['unknown profile', () => native.session(2, Buffer.alloc(16), Buffer.alloc(12))],
      ['short key', () => native.session(SRTP_AEAD_AES_128_GCM, Buffer.alloc(15), Buffer.alloc(12))],
      [
        'CM without auth key',
        () => native.session(SRTP_AES128_CM_HMAC_SHA1_80, Buffer.alloc(16), Buffer.alloc(14)),
      ],
      ['not a session', () => native.protect({} as never, header, Buffer.alloc(1), 0)],
      ['short header', () => native.protect(session, Buffer.alloc(11), Buffer.alloc(1), 0)],
      ['payload too long', () => native.protect(session, header, Buffer.alloc(4097), 0)],
      ['payload not a buffer', () => native.protect(session, header, 'x' as never, 0)],
      ['negative fd', () => native.send(session, -1, header, Buffer.alloc(1), 0)],
      ['port 0', () => native.destination(session, '127.0.0.1', 0)],
    ];
    for (const [what, call] of bad) {
      expect(call, what).toThrow(TypeError);
      try {
        call();
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code, what).toBe('ERR_SRTP_NATIVE_ARGUMENT');
      }
    }
  });

  it("sends a werift viewer's RTP through the addon, and through JavaScript without it", async () => {
    for (const useNative of [true, false]) {
      let nativeSends = 0;
      const counting: NativeSrtp = {
        ...native,
        send: (...args) => {
          nativeSends++;
          return native.send(...args);
        },
      };
      const { sender, payloadType, received, outgoing } = await connectedPair();
      const writer = new ViewerRtpSender(sender, () => {}, useNative ? counting : undefined);
      const sent = await streamThrough(writer, payloadType, received, 0x7e4);
      expect(received.map((p) => p.header.sequenceNumber)).toEqual(sent.slice(1).map((p) => p.seq));
      expect(received.map((p) => p.payload)).toEqual(sent.slice(1).map((p) => p.payload));
      // Every packet (the first one perhaps more than once) went through the addon, or none did.
      if (useNative) expect(nativeSends).toBeGreaterThanOrEqual(sent.length);
      else expect(nativeSends).toBe(0);
      writer.close();
      outgoing.stop();
      await Promise.all(peers.splice(0).map((pc) => pc.close()));
    }
  });
});

describe.runIf(addon)('werift decrypting with the native addon (decryptNatively)', () => {
  it("receives every packet through the addon's decryption, across a sequence number wrap", async () => {
    const native = addon!;
    let decrypted = 0;
    const counting: NativeSrtp = {
      ...native,
      unprotect: (...args) => {
        decrypted++;
        return native.unprotect(...args);
      },
    };
    const { sender, payloadType, received, receiverPc } = await connectedPair();
    expect(decryptNatively(receiverPc, counting)).toBe(1);
    const writer = new ViewerRtpSender(sender, () => {}, native);
    const sent = await streamThrough(writer, payloadType, received, 0xd5c);
    expect(received.map((p) => p.payload)).toEqual(sent.slice(1).map((p) => p.payload));
    expect(decrypted).toBeGreaterThanOrEqual(sent.length);
    writer.close();
  });
});

/**
 * Sends 60 seeded packets through `writer`, their sequence numbers across a wrap (the rollover
 * counter goes with them), and waits until `received` holds all but the first. The first is
 * sent until the receiver has its track (werift creates it on the first packet's SSRC), then
 * `received` is emptied. Every fifth packet after it carries the marker bit.
 */
async function streamThrough(
  writer: ViewerRtpSender,
  payloadType: number,
  received: RtpPacket[],
  seed: number,
) {
  const random = fuzzRandom(seed);
  const sent = Array.from({ length: 60 }, (_, i) => ({
    seq: (0xffe0 + i) & 0xffff,
    payload: random.bytes(1 + random.int(1200)),
  }));
  await waitFor(
    () => {
      if (received.length === 0) writer.send(payloadType, false, sent[0]!.seq, 0, sent[0]!.payload);
      return received.length > 0;
    },
    { timeoutMs: 20_000, what: 'the first packet received' },
  );
  received.length = 0;
  for (const [i, p] of sent.slice(1).entries())
    writer.send(payloadType, i % 5 === 4, p.seq, i * 3000, p.payload);
  await waitFor(() => received.length >= sent.length - 1, { timeoutMs: 20_000, what: 'every packet' });
  return sent;
}

/** Two werift peers over loopback: `sender`'s video RTCRtpSender, and what the other peer receives. */
async function connectedPair() {
  const make = () => {
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    peers.push(pc);
    return pc;
  };
  const gathered = async (pc: RTCPeerConnection) => {
    await waitFor(() => pc.iceGatheringState === 'complete', { timeoutMs: 20_000, what: 'ICE gathering' });
    return pc.localDescription!.sdp;
  };
  const [a, b] = [make(), make()];
  const outgoing = new MediaStreamTrack({ kind: 'video' });
  const transceiver = a.addTransceiver(outgoing, { direction: 'sendonly' });
  const received: RtpPacket[] = [];
  b.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => received.push(p)));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription({ type: 'offer', sdp: await gathered(a) });
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription({ type: 'answer', sdp: await gathered(b) });
  await waitFor(() => [a, b].every((pc) => pc.connectionState === 'connected'), {
    timeoutMs: 40_000,
    what: 'both peers connected',
  });
  const payloadType = transceiver.codecs[0]!.payloadType;
  return { sender: transceiver.sender, payloadType, received, outgoing, receiverPc: b };
}
