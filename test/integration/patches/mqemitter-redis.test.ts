import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { unhandledRejectionsDuring } from '../../helpers/unhandled.js';

/**
 * patches/mqemitter-redis+7.2.1.patch: closing the emitter sends QUIT on both connections
 * without handling its answer. When the socket closes before the reply (Redis going away while
 * a node closes), QUIT rejects with "Connection is closed." and nothing catches it: the test
 * suite saw it as an unhandled rejection, and `lookout serve` exits on one.
 */
const require = createRequire(import.meta.url);
const mqemitterRedis = require('mqemitter-redis') as (opts: object) => {
  state: EventEmitter;
  close(cb: () => void): void;
};

/** A connection whose socket closes before QUIT's reply: 'end' comes, QUIT rejects. */
class ClosingConnection extends EventEmitter {
  quit(): Promise<string> {
    setImmediate(() => this.emit('end'));
    return Promise.reject(new Error('Connection is closed.'));
  }
  subscribe() {}
  psubscribe() {}
  publish() {
    return Promise.resolve(0);
  }
}

describe('mqemitter-redis patch', () => {
  it('closes without an unhandled rejection when QUIT fails because the connection closed first', async () => {
    const unhandled = await unhandledRejectionsDuring(async () => {
      const mq = mqemitterRedis({ subConn: new ClosingConnection(), pubConn: new ClosingConnection() });
      mq.state.on('error', () => {});
      await new Promise<void>((resolve) => mq.close(resolve));
    });
    expect(unhandled).toEqual([]);
  });
});
