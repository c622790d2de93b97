import { RTCPeerConnection } from 'werift';
import { audioCodecs, videoCodecs } from '../../media/codecs.js';
import { isKeyframeStart } from '../../media/keyframe.js';

export interface WhepStats {
  video: number;
  audio: number;
  /** mime types of the codecs the packets arrived in. */
  videoCodec: string | undefined;
  audioCodec: string | undefined;
  keyframes: number;
  firstKeyframeMs: number | undefined;
  lastPacketAt: number;
}

/**
 * A minimal WHEP player (a werift receive-only peer) for tests and benchmarks: POSTs an
 * offer, applies the answer, counts packets and keyframes.
 */
export class WhepClient {
  readonly pc: RTCPeerConnection;
  readonly stats: WhepStats = {
    video: 0,
    audio: 0,
    videoCodec: undefined,
    audioCodec: undefined,
    keyframes: 0,
    firstKeyframeMs: undefined,
    lastPacketAt: 0,
  };
  location: string | undefined;
  #started = 0;

  /**
   * `token`: an API token, or a signed-in session (its cookie and CSRF token, as a browser sends
   * them). `accept` lists the codecs this player offers, in order (default: H.264 and Opus, like
   * a browser would prefer).
   */
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | { cookie: string; csrf: string },
    accept: { video?: string[]; audio?: string[] } = {},
  ) {
    const pick = <C extends { mimeType: string }>(all: C[], names: string[] | undefined) =>
      names
        ? names.map((n) => all.find((c) => c.mimeType.toLowerCase() === n.toLowerCase())!).filter(Boolean)
        : all.slice(0, 1);
    this.pc = new RTCPeerConnection({
      iceServers: [],
      codecs: { video: pick(videoCodecs(), accept.video), audio: pick(audioCodecs(), accept.audio) },
      headerExtensions: { video: [], audio: [] },
      bundlePolicy: 'max-bundle',
    });
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        this.stats.lastPacketAt = performance.now();
        // The payload type says which negotiated codec a packet is in (the track only knows the first one).
        const codec =
          this.pc
            .getTransceivers()
            .flatMap((t) => t.codecs)
            .find((c) => c.payloadType === rtp.header.payloadType)?.mimeType ?? '';
        if (track.kind === 'audio') {
          this.stats.audio++;
          this.stats.audioCodec = codec;
          return;
        }
        this.stats.video++;
        this.stats.videoCodec = codec;
        if (isKeyframeStart(codec, rtp.payload)) {
          this.stats.keyframes++;
          this.stats.firstKeyframeMs ??= performance.now() - this.#started;
        }
      });
    });
  }

  /** Runs the WHEP exchange; resolves with the HTTP response (status 201 on success). */
  async play(deviceId: string): Promise<Response> {
    this.#started = performance.now();
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const response = await fetch(`${this.baseUrl}/whep/${deviceId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...this.#auth() },
      body: this.pc.localDescription!.sdp,
    });
    if (response.status === 201) {
      this.location = response.headers.get('location') ?? undefined;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: await response.clone().text() });
    }
    return response;
  }

  #auth(): Record<string, string> {
    return typeof this.token === 'string'
      ? { authorization: `Bearer ${this.token}` }
      : { cookie: this.token.cookie, 'x-lookout-csrf': this.token.csrf };
  }

  async stop(): Promise<void> {
    if (this.location) {
      // Relative on a single host; absolute on the node holding the camera in a cluster.
      await fetch(new URL(this.location, this.baseUrl), {
        method: 'DELETE',
        headers: this.#auth(),
      }).catch(() => {});
      this.location = undefined;
    }
    await this.pc.close();
  }
}
