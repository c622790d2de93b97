import { RTCPeerConnection } from 'werift';
import { audioCodecs, videoCodecs } from './codecs.js';

/** ICE settings shared by every peer connection the media node creates. */
export interface PeerOptions {
  /** STUN/TURN servers the media node itself uses. Never werift's default (a public STUN server). */
  iceServers: Array<{ urls: string; username?: string; credential?: string }>;
  /** Extra host candidates to advertise (a public IP behind 1:1 NAT, 127.0.0.1 for loopback tests). */
  additionalHostAddresses: string[];
  /** UDP port range for ICE, or undefined for any. */
  portRange?: [number, number] | undefined;
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
