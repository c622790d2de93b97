import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRange } from '../helpers/ports.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

/** Dropping packets needs iptables and root (CI runs as root). */
function canFilter(): boolean {
  if (!requireTool('iptables', ['-V'])) return false;
  if (process.getuid?.() === 0) return true;
  if (process.env.CI) throw new Error('the packet-loss test needs root for iptables; CI must not skip it');
  console.warn('\n*** SKIPPING the packet-loss test: it needs root for iptables ***\n');
  return false;
}

const ready = requireTool('ffmpeg', ['-version']) && canFilter();
const COMMENT = `lookout-test-${process.pid}`;
/** IPv4 and IPv6: ICE may pick a pair of either family, and each has its own table. */
const FIREWALLS = ['iptables', 'ip6tables'];
/** The iptables rule dropping 5% of the UDP packets sent to `ports` (the media node's). */
const dropRule = (ports: [number, number]) => [
  'INPUT',
  '-p',
  'udp',
  '--dport',
  `${ports[0]}:${ports[1]}`,
  '-m',
  'statistic',
  '--mode',
  'random',
  '--probability',
  '0.05',
  '-m',
  'comment',
  '--comment',
  COMMENT,
  '-j',
  'DROP',
];

describe.runIf(ready)('media under packet loss (iptables drops 5% of what reaches the media node)', () => {
  let t: TestServer;
  let token: string;
  let rule: string[] | undefined;
  let ports: [number, number];

  beforeAll(async () => {
    // A free range of the server's media ports for this test only, so the rule touches nothing else.
    const first = await freePortRange(20);
    ports = [first, first + 19];
    // The direct camera-to-media-node path is what the iptables rule drops on: no TURN here.
    t = await startTestServer({
      'media.icePortMin': ports[0],
      'media.icePortMax': ports[1],
      'turn.mode': 'off',
      // Loss makes the viewer ask for keyframes; the reference agent answers each by restarting its
      // encoder, which on a loaded machine can starve the stream: at most one a second. This test is about NACK.
      'media.keyframeIntervalMs': 1000,
    });
    token = (await t.server.registry.tokens.create('test')).token;
    await t.startCamera('cam1', { video: { bitrateKbps: 400 }, audio: { codec: 'none' } });
  });
  afterAll(async () => {
    // Both families: the camera and the media node may pair over IPv6 (the machine's global or link-local address).
    if (rule) for (const tool of FIREWALLS) execFileSync(tool, ['-D', ...rule]);
    await t?.close();
  });

  it("recovers the camera's lost packets with NACK before they reach the viewer", {
    timeout: 120_000,
  }, async () => {
    const viewer = new WhepClient(t.httpUrl, token);
    const seqs = new Set<number>();
    let highest = -1;
    let base = -1;
    viewer.pc.onTrack.subscribe((track) => {
      if (track.kind !== 'video') return;
      track.onReceiveRtp.subscribe((rtp) => {
        // Unwrap sequence numbers relative to the first one seen.
        if (base < 0) base = rtp.header.sequenceNumber;
        const offset = (rtp.header.sequenceNumber - base + 0x10000) % 0x10000;
        seqs.add(offset);
        highest = Math.max(highest, offset);
      });
    });
    // Watch the camera's answer: retransmissions should be negotiated as RTX (RFC 4588).
    const service = await t.serviceClient();
    const answers: string[] = [];
    service.on('message', (_topic, payload) => {
      const message = JSON.parse(payload.toString()) as { type: string; sdp?: string };
      if (message.type === 'answer' && message.sdp) answers.push(message.sdp);
    });
    await service.subscribeAsync('lookout/cam1/up/signal');
    expect((await viewer.play('cam1')).status).toBe(201);
    await waitFor(() => viewer.stats.keyframes > 0, { timeoutMs: 30_000, what: 'first keyframe' });
    expect(answers.at(-1)).toMatch(/a=rtpmap:\d+ rtx\/90000/);
    expect(answers.at(-1)).toMatch(/a=ssrc-group:FID \d+ \d+/);
    await service.endAsync();
    for (const tool of FIREWALLS) execFileSync(tool, ['-I', ...dropRule(ports)]);
    rule = dropRule(ports);
    const from = highest + 1;
    // ~600 packets through the lossy path (~15 s at 400 kbit/s): waited for, not slept for, so
    // a loaded machine that delivers fewer packets a second takes longer instead of failing.
    await waitFor(() => highest - from >= 600, { timeoutMs: 60_000, what: '600 packets under loss' });
    const until = highest - 50; // leave time for the last retransmissions
    let got = 0;
    for (let s = from; s <= until; s++) if (seqs.has(s)) got++;
    const expected = until - from + 1;
    const loss = 1 - got / expected;
    const dropped = FIREWALLS.reduce(
      (sum, tool) =>
        sum +
        Number(
          execFileSync(tool, ['-L', 'INPUT', '-v', '-n', '-x'], { encoding: 'utf8' })
            .split('\n')
            .find((l) => l.includes(COMMENT))
            ?.trim()
            .split(/\s+/)[0] ?? 0,
        ),
      0,
    );
    const figures = JSON.stringify({ expected, got, loss, dropped });
    expect(expected, figures).toBeGreaterThan(500);
    expect(dropped, figures).toBeGreaterThan(5); // packets really were dropped on the way to the media node...
    expect(loss, figures).toBeLessThan(0.01); // ...and the viewer still got (nearly) all of them
    await viewer.stop();
  });
});
