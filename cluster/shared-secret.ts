import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LookoutError } from '../core/errors.js';
import { redisCall } from './redis.js';

/**
 * A secret every node of the cluster shares, made by the first node that asks (`SET NX`) and read
 * by the others: the TURN REST secret, so that credentials one node issues work on every node's
 * TURN server (issue 11, item 7; operators who set `turn.secret` in every node's config skip this),
 * and the key nodes sign their requests to each other with (D40). `code`: the error when the value
 * found is not usable.
 */
export async function sharedSecret(redis: Redis, key: string, code = 'TURN_SECRET_INVALID'): Promise<string> {
  const made = randomBytes(32).toString('base64url');
  await redisCall('secret', () => redis.set(key, made, 'NX'));
  const secret = await redisCall('secret', () => redis.get(key));
  if (!secret || secret.length < 16 || secret.length > 512) {
    throw new LookoutError(code, `the cluster's shared secret at Redis key ${key} is not usable`);
  }
  return secret;
}
