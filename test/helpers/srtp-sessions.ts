import { SrtpSession } from 'werift';
import { SRTP_AEAD_AES_128_GCM } from '../../media/srtp-protect.js';
import type { SeededRandom } from './random.js';

/**
 * A werift SRTP session pair with seeded keys: `sender` protects, `receiver` (keys swapped)
 * unprotects; `anotherReceiver()` makes a second receiver with the same keys.
 */
export function srtpSessionPair(
  random: SeededRandom,
  profile: number,
): { sender: SrtpSession; receiver: SrtpSession; anotherReceiver(): SrtpSession } {
  const saltLength = profile === SRTP_AEAD_AES_128_GCM ? 12 : 14;
  const a = { key: random.bytes(16), salt: random.bytes(saltLength) };
  const b = { key: random.bytes(16), salt: random.bytes(saltLength) };
  const session = (local: typeof a, remote: typeof a) =>
    new SrtpSession({
      profile: profile as never,
      keys: {
        localMasterKey: local.key,
        localMasterSalt: local.salt,
        remoteMasterKey: remote.key,
        remoteMasterSalt: remote.salt,
      },
    });
  return { sender: session(a, b), receiver: session(b, a), anotherReceiver: () => session(b, a) };
}
