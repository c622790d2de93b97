import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { audioCodecs, videoCodecs } from '../../media/codecs.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * SDP facts the docs state, checked on real exchanges (a real server, a camera online on the
 * real broker, a werift viewer's offer over HTTP): what the WHEP answer carries
 * (docs/http-api.md, "The answer's codecs"), and that the offer to a camera asks for no
 * bandwidth change (edge-config.schema.json, `stream`).
 */

interface MediaSection {
  kind: string;
  direction: string | undefined;
  /** `a=rtpmap` codec names with their `a=fmtp`, in payload order. */
  codecs: Array<{ pt: number; name: string; fmtp: string }>;
}

function mediaSections(sdp: string): MediaSection[] {
  return sdp
    .split(/\r?\nm=/)
    .slice(1)
    .map((block) => {
      const lines = block.split(/\r?\n/);
      const order = lines[0]!.split(' ').slice(3).map(Number);
      const rtpmap = new Map<number, string>();
      const fmtp = new Map<number, string>();
      for (const line of lines) {
        const map = /^a=rtpmap:(\d+) ([^/]+)/.exec(line);
        if (map) rtpmap.set(Number(map[1]), map[2]!);
        const params = /^a=fmtp:(\d+) (.*)$/.exec(line);
        if (params) fmtp.set(Number(params[1]), params[2]!);
      }
      return {
        kind: lines[0]!.split(' ')[0]!,
        direction: lines.find((l) => /^a=(sendonly|recvonly|sendrecv|inactive)$/.test(l))?.slice(2),
        codecs: order.map((pt) => ({ pt, name: rtpmap.get(pt) ?? '?', fmtp: fmtp.get(pt) ?? '' })),
      };
    });
}

/** A receive-only werift viewer offering `video` then `audio` codecs in the order given. */
async function offer(video: string[], audio: string[]): Promise<{ pc: RTCPeerConnection; sdp: string }> {
  const pick = <C extends { mimeType: string; parameters?: string | undefined }>(all: C[], names: string[]) =>
    names.flatMap((n) => {
      const [mime, profile] = n.split(';');
      return all.filter(
        (c) =>
          c.mimeType.toLowerCase() === mime!.toLowerCase() &&
          (!profile || (c.parameters ?? '').includes(profile)),
      );
    });
  const pc = new RTCPeerConnection({
    iceServers: [],
    codecs: { video: pick(videoCodecs(), video), audio: pick(audioCodecs(), audio) },
    headerExtensions: { video: [], audio: [] },
    bundlePolicy: 'max-bundle',
  });
  pc.addTransceiver('video', { direction: 'recvonly' });
  if (audio.length > 0) pc.addTransceiver('audio', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return { pc, sdp: pc.localDescription!.sdp };
}

describe('SDP contracts (real server, real broker, werift viewer)', () => {
  let t: TestServer;
  let token: string;
  let camera: MqttClient;
  const peers: RTCPeerConnection[] = [];
  const offers: string[] = [];

  beforeAll(async () => {
    t = await startTestServer();
    token = (await t.server.registry.tokens.create('test')).token;
    // The camera only needs to be online: the answer is built before it streams.
    const secret = await t.addDevice('cam1');
    camera = await t.connect({ clientId: 'cam1', username: 'cam1', password: secret });
    camera.on('message', (_topic, payload) => {
      const message = JSON.parse(payload.toString()) as { type: string; sdp?: string };
      if (message.type === 'offer' && message.sdp) offers.push(message.sdp);
    });
    await camera.subscribeAsync('lookout/cam1/down/signal', { qos: 1 });
    await camera.publishAsync('lookout/cam1/up/signal', JSON.stringify({ v: 1, type: 'hello' }), { qos: 1 });
    await waitFor(() => t.server.media.isOnline('cam1'), { what: 'cam1 online' });
  });
  afterAll(async () => {
    await Promise.all(peers.map((pc) => pc.close()));
    await camera?.endAsync(true).catch(() => {});
    await t?.close();
  });

  async function post(sdp: string): Promise<Response> {
    const response = await fetch(`${t.httpUrl}/whep/cam1`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: sdp,
    });
    const location = response.headers.get('location');
    if (location) {
      // Stop the session at once; the answer is what this test is about.
      await fetch(`${t.httpUrl}${location}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
    }
    return response;
  }

  it('keeps every codec the camera could be forwarded in: one H.264 (constrained baseline first), VP8, their RTX, Opus, PCMU, PCMA', async () => {
    // Chromium-like order: VP8 first; all three H.264 profiles; every audio codec we know.
    const viewer = await offer(
      ['video/VP8', 'video/H264;42e01f', 'video/H264;4d001f', 'video/H264;64001f', 'video/rtx'],
      ['audio/opus', 'audio/PCMU', 'audio/PCMA'],
    );
    peers.push(viewer.pc);
    const response = await post(viewer.sdp);
    const body = await response.text();
    expect(response.status, body).toBe(201);
    const [video, audio] = mediaSections(body);
    expect(video).toMatchObject({ kind: 'video', direction: 'sendonly' });
    expect(audio).toMatchObject({ kind: 'audio', direction: 'sendonly' });
    const videoNames = video!.codecs.map((c) => c.name);
    // The camera has not streamed yet: it is assumed H.264, which goes first whatever the viewer's order.
    expect(videoNames.filter((n) => n !== 'rtx')).toEqual(['H264', 'VP8']);
    const h264 = video!.codecs.filter((c) => c.name === 'H264');
    expect(h264).toHaveLength(1);
    expect(h264[0]!.fmtp).toMatch(/packetization-mode=1/);
    expect(h264[0]!.fmtp).toMatch(/profile-level-id=42e01f/);
    // Each media codec with its RTX (RFC 4588), matched by apt.
    const rtx = video!.codecs.filter((c) => c.name === 'rtx').map((c) => c.fmtp);
    const media = video!.codecs.filter((c) => c.name !== 'rtx').map((c) => `apt=${c.pt}`);
    expect(rtx.sort()).toEqual(media.sort());
    expect(audio!.codecs.map((c) => c.name)).toEqual(['opus', 'PCMU', 'PCMA']);
  });

  it('answers a viewer that offers only VP8 and PCMA with just those', async () => {
    const viewer = await offer(['video/VP8'], ['audio/PCMA']);
    peers.push(viewer.pc);
    const response = await post(viewer.sdp);
    const body = await response.text();
    expect(response.status, body).toBe(201);
    const [video, audio] = mediaSections(body);
    expect(video!.codecs.map((c) => c.name)).toEqual(['VP8']);
    expect(audio!.codecs.map((c) => c.name)).toEqual(['PCMA']);
  });

  it('refuses a viewer with neither H.264 packetization-mode 1 nor VP8 (NO_COMMON_CODEC)', async () => {
    const viewer = await offer(['video/H264;42e01f'], ['audio/opus']);
    peers.push(viewer.pc);
    const response = await post(viewer.sdp.replaceAll('packetization-mode=1', 'packetization-mode=0'));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'NO_COMMON_CODEC' });
  });

  it('answers a video-only offer with video only', async () => {
    const viewer = await offer(['video/H264;42e01f'], []);
    peers.push(viewer.pc);
    const response = await post(viewer.sdp);
    const body = await response.text();
    expect(response.status, body).toBe(201);
    expect(mediaSections(body).map((m) => m.kind)).toEqual(['video']);
  });

  it('offers the camera no bandwidth feedback: only NACK, PLI and FIR (the edge config stream is fixed)', async () => {
    // Any viewer creates demand, and demand an offer to the camera.
    const viewer = await offer(['video/H264;42e01f'], ['audio/opus']);
    peers.push(viewer.pc);
    expect((await post(viewer.sdp)).status).toBe(201);
    const sdp = await waitFor(() => offers[0], { timeoutMs: 15_000, what: 'an offer to the camera' });
    const feedback = new Set([...sdp.matchAll(/^a=rtcp-fb:\d+ (.+?)\r?$/gm)].map((m) => m[1]));
    expect([...feedback].sort()).toEqual(['ccm fir', 'nack', 'nack pli']);
    expect(sdp).not.toMatch(/^b=/m); // no bandwidth line either
    expect(sdp).not.toMatch(/^a=extmap:/m); // so no transport-wide congestion control
  });
});
