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
