import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An SRTP session of the native addon: keyed OpenSSL contexts and one destination. Opaque. */
export type NativeSrtpSession = { readonly __brand: 'NativeSrtpSession' };

/**
 * Lookout's native SRTP sender (media/native/srtp-send.c, built at install by
 * scripts/build-native.mjs; D43). Byte-for-byte the same SRTP as srtp-protect.ts.
 */
export interface NativeSrtp {
  /**
   * Keys one direction of an SRTP session (profile numbers as in srtp-protect.ts). `decrypt`: a
   * receiving session for unprotect(), AEAD_AES_128_GCM only; otherwise a sending one.
   */
  session(profile: number, key: Buffer, salt: Buffer, authKey?: Buffer, decrypt?: boolean): NativeSrtpSession;
  /** Where send() writes; false (and nothing set) when `address` is not an IPv4 or IPv6 address. */
  destination(session: NativeSrtpSession, address: string, port: number): boolean;
  /** The encrypted payload followed by the tag, for `header` (which carries SSRC and sequence number). */
  protect(session: NativeSrtpSession, header: Buffer, payload: Buffer, roc: number): Buffer;
  /**
   * Protects and writes header, encrypted payload and tag with one `sendmsg` on descriptor `fd`
   * (a non-blocking UDP socket). Returns the bytes written or a negative errno: a full socket
   * buffer (-11, EAGAIN) drops the packet, as a real-time sender should.
   */
  send(session: NativeSrtpSession, fd: number, header: Buffer, payload: Buffer, roc: number): number;
  /**
   * A received AES-GCM SRTP packet as RTP (header, then decrypted payload), or undefined when it
   * does not authenticate. `payloadOffset`: where the header (CSRCs, extension) ends.
   */
  unprotect(
    session: NativeSrtpSession,
    packet: Buffer,
    payloadOffset: number,
    roc: number,
  ): Buffer | undefined;
}

export type NativeSrtpLoad = { addon: NativeSrtp; path: string } | { addon: undefined; reason: string };

const ADDON = join('media', 'native', 'build', 'Release', 'srtp_send.node');
let loaded: NativeSrtpLoad | undefined;

/**
 * The addon, loaded once per process, or why not (not built: no compiler at install, or
 * `npm install --ignore-scripts`). Found from this file's place in the source tree
 * (media/native-srtp.ts) or in the build (dist/media/native-srtp.js).
 */
export function loadNativeSrtp(): NativeSrtpLoad {
  if (loaded) return loaded;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', ADDON), join(here, '..', '..', ADDON)];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    loaded = { addon: undefined, reason: `${ADDON} is not built (run: npm run build:native)` };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeSrtp;
    loaded = { addon, path };
  } catch (err) {
    loaded = { addon: undefined, reason: `${path} did not load: ${(err as Error).message}` };
  }
  return loaded;
}
