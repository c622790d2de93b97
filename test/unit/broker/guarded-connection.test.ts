import { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MqttFrameGuard } from '../../../broker/frame-guard.js';
import { GuardedConnection } from '../../../broker/guarded-connection.js';
import { waitFor } from '../../helpers/wait-for.js';

/** A transport that records each write it is given (one write = one syscall or WebSocket frame). */
class RecordingTransport extends Duplex {
  readonly writes: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.writes.push(chunk);
    done();
  }
}

describe('GuardedConnection writes', () => {
  it('hands a packet mqtt-packet writes in pieces to the transport as one write', async () => {
    const transport = new RecordingTransport();
    const guard = new MqttFrameGuard({ maxConnectBytes: 8192, maxPacketBytes: 262_144 });
    const conn = new GuardedConnection(transport, guard, () => {});
    const packet = {
      cmd: 'publish' as const,
      topic: 'lookout/cam1/status',
      payload: Buffer.from('{"online":true}'),
      qos: 1 as const,
      messageId: 7,
      retain: true,
      dup: false,
    };
    mqttPacket.writeToStream(packet, conn); // corks, writes header, length, topic, id, payload
    await waitFor(() => transport.writes.length > 0, { what: 'a write' });
    expect(transport.writes).toHaveLength(1);
    expect(transport.writes[0]).toEqual(mqttPacket.generate(packet));
    conn.destroy();
  });
});

/** Like a net.Socket: buffered writes leave in one vectored write (one writev syscall). */
class VectorTransport extends RecordingTransport {
  override _writev(chunks: Array<{ chunk: Buffer }>, done: () => void): void {
    this.writes.push(Buffer.concat(chunks.map((c) => c.chunk)));
    done();
  }
}

function statusPacket(i: number) {
  return {
    cmd: 'publish' as const,
    topic: `lookout/cam${i}/status`,
    payload: Buffer.from('{"online":true}'),
    qos: 0 as const,
    retain: false,
    dup: false,
  };
}

describe('GuardedConnection coalescing', () => {
  it('sends the packets written in one turn of the event loop in one transport write', async () => {
    const transport = new VectorTransport();
    const conn = new GuardedConnection(
      transport,
      new MqttFrameGuard({ maxConnectBytes: 8192, maxPacketBytes: 262_144 }),
      () => {},
    );
    // What a service subscribed to `+/status` receives while 50 devices connect in one poll:
    // one packet per callback (each device's socket has its own), mqtt-packet's own cork
    // released after each (process.nextTick), all in the same turn of the loop.
    for (let i = 0; i < 50; i++) setImmediate(() => mqttPacket.writeToStream(statusPacket(i), conn));
    await waitFor(() => transport.writes.length > 0, { what: 'a write' });
    expect(transport.writes).toHaveLength(1);
    expect(transport.writes[0]).toEqual(
      Buffer.concat(Array.from({ length: 50 }, (_, i) => mqttPacket.generate(statusPacket(i)))),
    );
    // The next turn's packet is a write of its own: nothing waits longer than one turn.
    mqttPacket.writeToStream(statusPacket(50), conn);
    await waitFor(() => transport.writes.length > 1, { what: 'the second write' });
    expect(transport.writes[1]).toEqual(mqttPacket.generate(statusPacket(50)));
    conn.destroy();
  });

  it('hands what was written before a destroy (a refusing CONNACK) to the transport first', () => {
    const transport = new VectorTransport();
    const conn = new GuardedConnection(
      transport,
      new MqttFrameGuard({ maxConnectBytes: 8192, maxPacketBytes: 262_144 }),
      () => {},
    );
    const connack = { cmd: 'connack' as const, returnCode: 4, sessionPresent: false };
    conn.write(mqttPacket.generate(connack)); // reaches _write at once, then waits for the turn to end
    conn.destroy();
    expect(transport.writes).toEqual([mqttPacket.generate(connack)]);
    expect(transport.destroyed).toBe(true);
  });
});
