/**
 * Child process of bench:fanout: opens N werift viewers of one camera and prints, once a
 * second, one JSON line with cumulative video packets received and expected (from sequence numbers).
 * Args: `whep <baseUrl> <token> <deviceId> <count>` (Lookout) or `janus <apiUrl> <mountpoint> <count>`
 * (Janus streaming plugin over its HTTP API). Ends on SIGTERM.
 */
import { RTCPeerConnection } from 'werift';
import { audioCodecs, videoCodecs } from '../media/codecs.js';
import { janusWatch } from './fanout-janus-client.js';

const [mode, ...args] = process.argv.slice(2);
const count = Number(args.at(-1));

interface Counter {
  first: number | undefined;
  highest: number; // extended (unwrapped) sequence number
  received: number;
  bytes: number;
}

const counters: Counter[] = [];
const peers: RTCPeerConnection[] = [];
/** Ends each viewer's session on the server (WHEP DELETE, Janus destroy). */
const hangups: Array<() => Promise<unknown>> = [];

async function openViewer(): Promise<void> {
  const counter: Counter = { first: undefined, highest: 0, received: 0, bytes: 0 };
  counters.push(counter);
  const pc = new RTCPeerConnection({
    iceServers: [],
    codecs: { video: videoCodecs().slice(0, 1), audio: audioCodecs().slice(0, 1) },
    headerExtensions: { video: [], audio: [] },
    bundlePolicy: 'max-bundle',
  });
  peers.push(pc);
  pc.onTrack.subscribe((track) => {
    if (track.kind !== 'video') return;
    track.onReceiveRtp.subscribe((rtp) => {
      const seq = rtp.header.sequenceNumber;
      if (counter.first === undefined) {
        counter.first = seq;
        counter.highest = seq;
      } else {
        // Unwrap relative to the highest seen.
        const delta = ((seq - (counter.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
        if (delta > 0) counter.highest += delta;
      }
      counter.received++;
      counter.bytes += rtp.payload.length + 12;
    });
  });
  if (mode === 'janus') {
    const [api, mountpoint] = args as [string, string];
    hangups.push(await janusWatch(pc, api, Number(mountpoint)));
  } else {
    const [baseUrl, token, deviceId] = args as [string, string, string];
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const auth = { authorization: `Bearer ${token}` };
    const res = await fetch(`${baseUrl}/whep/${deviceId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...auth },
      body: pc.localDescription!.sdp,
    });
    if (res.status !== 201) throw new Error(`WHEP ${res.status}: ${await res.text()}`);
    const location = res.headers.get('location')!;
    hangups.push(() => fetch(`${baseUrl}${location}`, { method: 'DELETE', headers: auth }));
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  }
}

for (let i = 0; i < count; i++) await openViewer();

const report = setInterval(() => {
  let received = 0;
  let expected = 0;
  let bytes = 0;
  for (const c of counters) {
    if (c.first === undefined) continue;
    received += c.received;
    bytes += c.bytes;
    expected += c.highest - c.first + 1;
  }
  process.stdout.write(`${JSON.stringify({ viewers: counters.length, received, expected, bytes })}\n`);
}, 1000);

process.on('SIGTERM', async () => {
  clearInterval(report);
  await Promise.all(hangups.map((hangup) => hangup().catch(() => {})));
  await Promise.all(peers.map((p) => p.close()));
  process.exit(0);
});
