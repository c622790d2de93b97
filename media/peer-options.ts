import { RTCPeerConnection } from 'werift';
import { audioCodecs, videoCodecs } from './codecs.js';
import type { IceServer } from './signaling/messages.js';
import { releaseTurnAllocations } from './turn-release.js';

/** ICE settings shared by every peer connection the media node creates. */
export interface PeerOptions {
  /** STUN/TURN servers the media node itself uses. Never werift's default (a public STUN server). */
  iceServers: Array<{ urls: string; username?: string; credential?: string }>;
  /** Extra host candidates to advertise (a public IP behind 1:1 NAT, 127.0.0.1 for loopback tests). */
  additionalHostAddresses: string[];
  /** UDP port range for ICE, or undefined for any. */
  portRange?: [number, number] | undefined;
  /**
   * Whether the native addon (native-srtp.ts) protects and sends viewers' SRTP (D43) and decrypts
   * cameras' AES-GCM SRTP (D44) when it is built; unset or false: JavaScript and werift do.
   */
  nativeSrtp?: boolean | undefined;
}

/** A werift peer connection with Lookout's codecs and ICE settings. */
export function createPeerConnection(options: PeerOptions): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: options.iceServers,
    iceAdditionalHostAddresses: options.additionalHostAddresses,
    icePortRange: options.portRange,
    codecs: { video: videoCodecs(), audio: audioCodecs() },
    // The camera's header extensions are not forwarded, so none are negotiated.
    headerExtensions: { video: [], audio: [] },
    // werift 0.24 leaks the second m-line's UDP socket on close() unless everything is bundled.
    bundlePolicy: 'max-bundle',
  });
}

/**
 * Signaling's ICE servers as werift takes them: one entry per URL. werift 0.24 uses only the
 * first `turn:` URL it finds (falling back from UDP to TCP on the same address when the UDP
 * allocation times out), so the order of `urls` matters.
 */
export function weriftIceServers(
  servers: readonly IceServer[],
): Array<{ urls: string; username?: string; credential?: string }> {
  return servers.flatMap((s) =>
    s.urls.map((urls) => ({
      urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    })),
  );
}

/** One end of the candidate pair ICE selected, e.g. `relay udp 10.0.0.1:50000`. */
export interface SelectedPair {
  local: string;
  remote: string;
}

/**
 * The candidate pair a connected peer connection sends on, for logs ("is this camera
 * relayed?"). werift's getSelectedCandidatePair() returns the first pair flagged nominated,
 * which is not always the one it sends on; `connection.nominated` is. Undefined before ICE
 * connects.
 */
export function selectedCandidatePair(pc: RTCPeerConnection): SelectedPair | undefined {
  const pair = pc.iceTransports[0]?.connection.nominated;
  if (!pair) return undefined;
  const describe = (c: { type: string; transport: string; host: string; port: number }) =>
    `${c.type} ${c.transport.toLowerCase()} ${c.host}:${c.port}`;
  return { local: describe(pair.localCandidate), remote: describe(pair.remoteCandidate) };
}

/** The host candidates (address, port) a peer connection listens on. */
export function localHostCandidates(pc: RTCPeerConnection): Array<{ address: string; port: number }> {
  return pc.iceTransports.flatMap((t) =>
    t.localCandidates
      .filter((c) => c.type === 'host' && c.protocol.toLowerCase() === 'udp')
      .map((c) => ({ address: c.ip, port: c.port })),
  );
}

/** Longest a close waits for gathering: werift's UDP TURN allocation gives up after ~6.4 s. */
const GATHERING_WAIT_MS = 7000;

/**
 * Closes a werift peer connection once the ICE gathering in progress (if any) has settled, at
 * most `maxWaitMs` later. werift 0.24 opens the TURN client's socket when its allocation
 * completes and never closes it if the peer connection was closed meanwhile: without this
 * wait, every session cancelled while gathering a relay candidate leaks a UDP socket.
 */
export async function closeAfterGathering(
  pc: RTCPeerConnection,
  gathering: Promise<unknown> | undefined,
  maxWaitMs = GATHERING_WAIT_MS,
): Promise<void> {
  if (gathering) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      gathering.catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, maxWaitMs);
      }),
    ]);
    clearTimeout(timer);
  }
  await releaseTurnAllocations(pc).catch(() => 0);
  await pc.close();
}
