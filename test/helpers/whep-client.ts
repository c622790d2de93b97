import { RTCPeerConnection } from 'werift';
import { audioCodecs, videoCodecs } from '../../media/codecs.js';
import { isKeyframeStart } from '../../media/keyframe.js';

export interface WhepStats {
  video: number;
  audio: number;
  keyframes: number;
  firstKeyframeMs: number | undefined;
  lastPacketAt: number;
}

/**
 * A minimal WHEP player (a werift receive-only peer) for tests and benchmarks: POSTs an
 * offer, applies the answer, counts packets and keyframes.
 */
export class WhepClient {
  readonly pc = new RTCPeerConnection({
    iceServers: [],
    codecs: { video: videoCodecs().slice(0, 1), audio: audioCodecs().slice(0, 1) },
    headerExtensions: { video: [], audio: [] },
    bundlePolicy: 'max-bundle',
  });
  readonly stats: WhepStats = {
    video: 0,
    audio: 0,
    keyframes: 0,
    firstKeyframeMs: undefined,
    lastPacketAt: 0,
  };
  location: string | undefined;
  #started = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        this.stats.lastPacketAt = performance.now();
        if (track.kind === 'audio') {
          this.stats.audio++;
          return;
        }
        this.stats.video++;
        if (isKeyframeStart('video/H264', rtp.payload)) {
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
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${this.token}` },
      body: this.pc.localDescription!.sdp,
    });
    if (response.status === 201) {
      this.location = response.headers.get('location') ?? undefined;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: await response.clone().text() });
    }
    return response;
  }

  async stop(): Promise<void> {
    if (this.location) {
      await fetch(`${this.baseUrl}${this.location}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${this.token}` },
      }).catch(() => {});
      this.location = undefined;
    }
    await this.pc.close();
  }
}
