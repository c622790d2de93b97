import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LookoutError } from '../core/errors.js';
import { createFileOnce } from '../core/file-once.js';

export const KEY_FILE = 'registry.key';

/** Prefixes make leaked secrets recognisable to secret scanners and to people. */
export const DEVICE_SECRET_PREFIX = 'lkd_';
export const API_TOKEN_PREFIX = 'lkt_';

/** A fresh 256-bit secret, base64url, with a recognisable prefix. */
export function generateSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/**
 * Keyed hashing of high-entropy secrets. HMAC-SHA256 under a per-installation key:
 * the secrets are 256-bit random, so a slow KDF would add nothing but CPU time
 * during reconnect storms; the key means a stolen database alone cannot even
 * confirm a guessed secret.
 */
export class SecretHasher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32)
      throw new LookoutError('REGISTRY_KEY_INVALID', 'registry key must be at least 32 bytes');
    this.#key = key;
  }

  hash(secret: string): Buffer {
    return createHmac('sha256', this.#key).update(secret, 'utf8').digest();
  }

  /** Constant-time comparison of `secret` against a stored hash. */
  matches(secret: string, storedHash: Buffer): boolean {
    const candidate = this.hash(secret);
    return candidate.length === storedHash.length && timingSafeEqual(candidate, storedHash);
  }
}

/**
 * Loads the key file (`<dataDir>/registry.key` unless configured), creating it (mode 0600)
 * on first use. Creation is atomic (write a temp file, hard-link it into place) so a CLI
 * and a server starting together agree on one key.
 */
export function loadOrCreateKey(file: string): Buffer {
  const existing = tryRead(file);
  if (existing) return existing;
  createFileOnce(file, `${randomBytes(32).toString('hex')}\n`);
  const key = tryRead(file);
  if (!key)
    throw new LookoutError('REGISTRY_KEY_INVALID', `registry key ${file} is unreadable or malformed`, {
      file,
    });
  return key;
}

function tryRead(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!/^[0-9a-f]{64,}$/.test(text)) {
    throw new LookoutError('REGISTRY_KEY_INVALID', `registry key ${file} is malformed (expected hex)`, {
      file,
    });
  }
  return Buffer.from(text, 'hex');
}

/**
 * A fingerprint of the key that reveals nothing about it: HMAC of a fixed label. Nodes
 * sharing one PostgreSQL registry compare theirs with the one stored there (D29).
 */
export function keyFingerprint(key: Buffer): string {
  return createHmac('sha256', key)
    .update('lookout registry key fingerprint v1', 'utf8')
    .digest('hex')
    .slice(0, 32);
}
