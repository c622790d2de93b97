import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MqttFrameGuard } from '../../../broker/frame-guard.js';
import { fuzzRandom } from '../../helpers/random.js';

const limits = { maxConnectBytes: 512, maxPacketBytes: 4096 };

function encode(packet: object): Buffer {
  return mqttPacket.generate(packet as mqttPacket.Packet);
}

const connect = encode({
  cmd: 'connect',
  clientId: 'cam1',
  username: 'cam1',
  password: Buffer.from('x'.repeat(47)),
  keepalive: 30,
  protocolVersion: 4,
  clean: true,
});
const publish = (size: number) =>
  encode({
    cmd: 'publish',
    topic: 'lookout/cam1/up/signal',
    payload: Buffer.alloc(size),
    qos: 0,
    retain: false,
    dup: false,
  });

describe('MqttFrameGuard', () => {
  it('passes a valid stream however it is split', () => {
    const stream = Buffer.concat([
      connect,
      publish(10),
      publish(3000),
      encode({ cmd: 'pingreq' }),
      publish(0),
    ]);
    for (const chunkSize of [1, 2, 3, 7, 64, stream.length]) {
      const guard = new MqttFrameGuard(limits);
      guard.authenticated();
      for (let i = 0; i < stream.length; i += chunkSize) {
        expect(guard.feed(stream.subarray(i, i + chunkSize))).toEqual({ ok: true });
      }
    }
  });

  it('rejects an oversized CONNECT from its header alone', () => {
    const guard = new MqttFrameGuard(limits);
    // CONNECT declaring 268 MB: five bytes are enough to refuse it.
    const verdict = guard.feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    expect(verdict).toMatchObject({ ok: false, code: 'PACKET_TOO_LARGE' });
    expect(guard.feed(Buffer.alloc(10))).toMatchObject({ ok: false }); // sticky
  });

  it('rejects a first packet that is not CONNECT', () => {
    expect(new MqttFrameGuard(limits).feed(publish(1))).toMatchObject({
      ok: false,
      code: 'FIRST_PACKET_NOT_CONNECT',
    });
  });

  it('rejects a Remaining Length longer than four bytes', () => {
    const guard = new MqttFrameGuard({ maxConnectBytes: 512, maxPacketBytes: 268_435_455 });
    expect(guard.feed(connect)).toEqual({ ok: true });
    guard.authenticated();
    expect(guard.feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toMatchObject({
      ok: false,
      code: 'MALFORMED_LENGTH',
    });
  });

  it('limits packets after CONNECT to maxPacketBytes', () => {
    const guard = new MqttFrameGuard(limits);
    guard.feed(connect);
    guard.authenticated();
    expect(guard.feed(publish(4000))).toEqual({ ok: true });
    expect(guard.feed(publish(4096))).toMatchObject({ ok: false, code: 'PACKET_TOO_LARGE' });
  });

  it('bounds the bytes accepted before the login completes', () => {
    const guard = new MqttFrameGuard(limits);
    expect(guard.feed(connect)).toEqual({ ok: true });
    expect(guard.feed(publish(3000))).toEqual({ ok: true });
    // A client pipelining more and more before its CONNACK is cut off.
    expect(guard.feed(publish(3000))).toMatchObject({ ok: false, code: 'PRE_AUTH_BYTES' });
  });

  it('never throws on random input', () => {
    const random = fuzzRandom(92);
    for (let i = 0; i < 2000; i++) {
      const guard = new MqttFrameGuard(limits);
      if (random.chance(0.5)) guard.feed(connect);
      if (random.chance(0.5)) guard.authenticated();
      const junk = random.bytes(random.int(64));
      const verdict = guard.feed(junk);
      expect(typeof verdict.ok).toBe('boolean');
    }
  });
});
