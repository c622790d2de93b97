import type { RTCPeerConnection } from 'werift';
import type { NativeSrtp } from './native-srtp.js';
import { SRTP_AEAD_AES_128_GCM } from './srtp-protect.js';

/** werift 0.24's receiving SRTP context and the hook the werift patch adds to its AES-GCM cipher (D44). */
interface RemoteContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  cipher?: {
    decryptPayload?: ((packet: Buffer, payloadOffset: number, roc: number) => Buffer | undefined) | undefined;
  };
}

/**
 * Has werift decrypt a connected peer's incoming AES-GCM SRTP with the native addon: one
 * OpenSSL context kept per session instead of a Node decipher per packet (D44). werift keeps
 * everything else: the header parse, the rollover counter (committed only for a packet that
 * authenticates), the error for one that does not. Other profiles stay werift's. Returns how
 * many DTLS transports now decrypt natively.
 */
export function decryptNatively(pc: RTCPeerConnection, native: NativeSrtp): number {
  let count = 0;
  for (const transport of pc.dtlsTransports) {
    const context = (transport as unknown as { srtp?: { remoteContext?: RemoteContext } }).srtp
      ?.remoteContext;
    const cipher = context?.cipher;
    if (!context || !cipher || context.profile !== SRTP_AEAD_AES_128_GCM) continue;
    try {
      const session = native.session(
        SRTP_AEAD_AES_128_GCM,
        context.srtpSessionKey,
        context.srtpSessionSalt,
        undefined,
        true,
      );
      cipher.decryptPayload = (packet, payloadOffset, roc) =>
        native.unprotect(session, packet, payloadOffset, roc);
      count++;
    } catch {
      // Keys the addon refuses: werift's own decryption stays.
    }
  }
  return count;
}
