import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { unhandledRejectionsDuring } from '../../helpers/unhandled.js';

/**
 * patches/aedes-persistence-redis+11.2.2.patch: the store sends some Redis commands without
 * waiting for their answer (LREM/RPUSH of the wills list). While Redis is away each of them
 * rejected with no handler, and `lookout serve` exits on an unhandled rejection: a Redis outage
 * of about 10 s (ioredis gives up a command after 20 retries) ended every node of a cluster.
 */
const require = createRequire(import.meta.url);
const AsyncPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (opts: {
  conn: Redis;
}) => { delWill(client: { id: string; brokerId: string }): Promise<unknown> };

describe('aedes-persistence-redis patch', () => {
  it('leaves no unhandled rejection when Redis is away: the awaited command fails, the others are caught', async () => {
    // Never connected, no offline queue: every command fails at once, as during an outage.
    const conn = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false });
    try {
      const unhandled = await unhandledRejectionsDuring(async () => {
        const persistence = new AsyncPersistence({ conn });
        await expect(persistence.delWill({ id: 'cam1', brokerId: 'node-a' })).rejects.toThrow();
      });
      expect(unhandled).toEqual([]);
    } finally {
      conn.disconnect();
    }
  });
});
