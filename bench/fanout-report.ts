/** The bench:fanout section of docs/benchmarks.md, from the samples of interleaved runs. */
import { median } from './report.js';

export interface Sample {
  /** Server CPU (user + system) per second of one viewer watching, in milliseconds. */
  cpuMsPerViewerSecond: number;
  /** Share of that CPU time spent in the kernel (system time: mostly sendmsg). */
  kernelShare: number;
  /** Share of the video packets the viewers did not receive (from their sequence numbers). */
  loss: number;
  /** Server memory (RSS) added per viewer, MB. */
  rssMbPerViewer: number;
  /** Video each viewer received. */
  mbps: number;
}

export type Measured = Record<'lookout' | 'janus', { steps: Record<number, Sample[]>; idle: number[] }>;

const fixed = (x: number, digits = 1) => x.toFixed(digits);
/** RSS a step added per viewer; a step whose RSS fell (the heap shrank meanwhile) added less than the noise. */
const memory = (kb: number) => (kb < 0 ? 'under the noise (RSS fell)' : `${fixed(kb, 0)} KB`);
const spread = (xs: number[], digits = 1) =>
  `${fixed(Math.min(...xs), digits)}–${fixed(Math.max(...xs), digits)}`;

export function fanoutReport(
  measured: Measured,
  setup: {
    steps: number[];
    runs: number;
    seconds: number;
    warmupSeconds: number;
    processes: number;
    janusVersion: string;
    machine: string;
    load: string;
  },
): string {
  const rows: string[] = [];
  const ratios: string[] = [];
  for (const n of setup.steps) {
    const cells = (['lookout', 'janus'] as const).map((name) => {
      const samples = measured[name].steps[n] ?? [];
      const cpu = samples.map((s) => s.cpuMsPerViewerSecond);
      return {
        name,
        cpu: median(cpu),
        row: `| ${n} | ${name === 'lookout' ? 'Lookout' : 'Janus'} | **${fixed(median(cpu), 2)}** (${spread(cpu, 2)}) | ${fixed(median(samples.map((s) => s.cpuMsPerViewerSecond / s.mbps)), 2)} | ${fixed(median(samples.map((s) => s.kernelShare * 100)), 0)}% | ${fixed(median(samples.map((s) => s.loss * 100)), 2)}% | ${memory(median(samples.map((s) => s.rssMbPerViewer * 1024)))} | ${fixed(median(samples.map((s) => s.mbps)), 2)} Mbps |`,
      };
    });
    rows.push(...cells.map((c) => c.row));
    ratios.push(`${n} viewers **${fixed(cells[0]!.cpu / cells[1]!.cpu, 2)}**`);
  }
  const idle = (name: 'lookout' | 'janus') =>
    `${fixed(median(measured[name].idle) * 100, 2)}% of a core (${spread(
      measured[name].idle.map((x) => x * 100),
      2,
    )}%)`;
  return `## Fan-out (\`npm run bench:fanout\`)

One camera (the \`lookout agent\` test source: libx264 1280x720, 15 fps, 2 Mbps, no audio) and N werift viewers in
${setup.processes} viewer processes on the same machine, watching \`lookout serve\` (WHEP) and, in the same run, Janus
${setup.janusVersion}'s streaming plugin (Debian's \`janus\`, started by the bench with only that plugin and the HTTP
transport, an RTP mountpoint fed by an ffmpeg with the agent's exact encoder settings; viewers use Janus's HTTP API).
Lookout and Janus runs interleave (${setup.runs} runs each, order alternating); each run starts its camera, warms the
server up with ${setup.steps[0]} viewers for ${setup.warmupSeconds} s (not measured, both servers alike: the first viewers a fresh
Lookout media worker serves cost it about 1.7 times as much for some 15 s while V8 compiles the send path and the heap
grows, and later viewers do not), then each step measures ${setup.seconds} s after the viewers settle. **CPU** is the server's user+system time (all threads of the server process and of its child
processes, that is Lookout's media workers, one per core by default; the camera's ingest included) per
second of one viewer watching; medians, with the spread over the runs; per Mbit sent corrects for a step where the
machine (its cores shared with ${setup.processes} werift viewer processes and the encoder) could not keep the camera at its
rate. **Memory** is the RSS the step added, per viewer.
Loss is from the viewers' RTP sequence numbers.

| Viewers | Server | CPU-ms per viewer-second | CPU-ms per Mbit sent | of which kernel | Video loss | Memory per viewer | Video per viewer |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

- Lookout / Janus CPU per viewer-second: ${ratios.join(', ')}.
- Camera streaming, no viewer: Lookout ${idle('lookout')}, Janus ${idle('janus')}.
- Janus receives plain RTP from ffmpeg on loopback; Lookout receives the camera over WebRTC (ICE, DTLS, SRTP),
  so its idle figure includes that session (its SRTP is held undecrypted while nothing needs it, D41, and its
  sockets are read past werift's layers and in batches, D42). Both servers are measured over ${setup.seconds} s,
  starting 40 s after the last 50 viewers left: for the first 30 s or so, Node's memory reducer collects the
  viewers' garbage and returns memory, which costs about as much again (\`bench/idle-profile.ts\`).
- The viewers (werift, decrypting SRTP in JavaScript) run on the same cores; they, not the servers, bound how many
  viewers this machine can show.

Machine: ${setup.machine}; load average at the end: ${setup.load}.

${PROFILE_NOTES}`;
}

/** What the profile of \`lookout serve\` showed and what was changed (D28); kept with the figures it explains. */
const PROFILE_NOTES = `### Where Lookout's time goes (\`npm run bench:fanout -- --viewers 25 --runs 1 --cpu-prof DIR\`)

Before (issue 10, 25 viewers, self time): one \`sendmsg\` per packet per viewer 20.8%, GC 10.4%, a new AES-GCM cipher
per SRTP packet in werift (createCipherBase 7.7%, update 5%, final 2.7%, setAAD 1.7%, getAuthTag 1.3%), werift's
\`ntpTime\` (splits a number's string per packet) 5%, \`Viewer.forward\` (clone + remap) 4.7%, werift's
\`rtpPacketSent\` (Object.keys, sort, filter per packet) 2%.

Changed (D28): viewers' RTP no longer goes through werift's \`RTCRtpSender.sendRtp\`. \`media/viewer-rtp-sender.ts\` writes
a 12-byte header per viewer in front of the camera's payload (shared, never copied), protects it with
\`media/srtp-protect.ts\` and sends header, ciphertext and tag with one scatter-gather \`sendmsg\`; it keeps the counters
werift's sender reports (RTCP SR) and answers NACKs from its own history (RTX when negotiated). Gone per packet and
viewer: the clone, werift's header-extension rebuild, \`ntpTime\` (now once per millisecond for all viewers),
\`rtpPacketSent\`, three promises, two \`Buffer.concat\`. A werift patch parses RTP header bits by arithmetic
(\`getBit\` built six binary strings per header, twice per camera packet).

After (25 viewers, self time of the whole process): \`sendmsg\` (\`doSend\`) 30%, the AES-GCM cipher per packet 15%
(createCipherBase 6.7%, update 4%, final 2.1%, getAuthTag 0.9%), GC 6.5%, our sender 3% and \`forward\` 2.4%.
SRTP profiles, measured (\`test/e2e/live.test.ts\`): werift viewers (these) choose AEAD_AES_128_GCM, Chromium
AES128_CM_HMAC_SHA1_80. Node cannot give a GCM cipher a new IV, so GCM keeps one cipher per packet (about 5 µs per
1200 bytes); for AES-CM the keystream now comes from one AES-ECB cipher kept per session (counter blocks and XOR a
32-bit word at a time), about half the cost of a new AES-CTR cipher per packet, then HMAC-SHA1. Each \`sendmsg\` also
pays Node's address lookup (a \`process.nextTick\` per datagram) because werift's socket is not connected.

Changed (D43): on a direct UDP pair the SRTP and the send are now one call into a native addon of ours
(\`media/native/srtp-send.c\`, built at install): OpenSSL contexts keyed once per session (only the IV changes per
packet) and one \`sendmsg\` on the socket's descriptor, without Node's dgram layer. Switched every 15 s inside one
worker with 10 viewers: 43.1 ms/s against 76.6 ms/s of its CPU (medians of 13 and 12 windows). Profile of that worker
at 10 viewers, self time: the addon's call 37% (encryption and the \`sendmsg\`, whose loopback delivery the kernel
charges to the sender), Node's dgram sends (werift's RTCP and STUN) 3%, werift's AES-GCM decryption of the camera
about 5%, GC 2%, our JavaScript per packet (\`ViewerRtpSender\`, \`Viewer.forward\`) about 2%. A fresh worker's first
viewers cost it more for about 15 s (92, 74, 71, then about 53 ms/s in 5 s windows at 10 viewers); a second group of
10 viewers on the same worker measured 54 ms/s from its first window: the cost is the worker's warm-up (V8
compiling, the heap growing), not each viewer's arrival, so each run now warms up before it measures.

Changed (D44): the camera's AES-GCM SRTP is decrypted by the same addon (a kept decrypting context), through a hook
the werift patch adds to werift's cipher; werift keeps the header parse and the rollover counter. Switched every 15 s
inside one worker with 10 viewers: 45.5 ms/s against 53.4 ms/s (medians of 11 windows each).

### The camera with no viewer

Where an idle camera's CPU goes, measured per process (\`bench/idle-profile.ts\`) and by switching one change on and off
every 15 s inside one running worker, so that the machine's noise falls on both sides alike:
- **The server process** spent about 9.4 ms/s idle, most of it prom-client's event-loop delay monitor: a 10 ms timer,
  a hundred wake-ups a second. Sampling every 100 ms brought it to about 2.8 ms/s; every 500 ms, with the principal
  watch's 250 ms timer (it checks the owners of open WHEP sessions) stopped while no session is open, about
  1.5 ms/s (0.15-0.16% of a core in 30 s rounds). About 70 µs a wake-up.
- **The camera's worker**: 16.2 ms/s before, 13.2 ms/s after a werift patch. werift parsed each packet's header twice
  (to decrypt it, then again from the plaintext), copied the header for the track, and started a promise per event
  (several per packet) whether or not anything awaited it.
- **The rest of the worker**, split the same way with a throwaway hook that took the camera's datagrams at the socket
  and cut the path at each stage (15 s windows, six of each, medians): werift's ICE, DTLS and receiver layers about
  3 ms/s; werift's AES-GCM decryption and packet about 5.5 ms/s (24 µs a packet, where a hot loop takes 5 µs and a
  cold cache 10 µs); Lookout's own stream code about 2 ms/s; and about 7.6 ms/s with every datagram dropped as it
  arrives. That floor is mostly waking up: the camera's packets come about 37 times a second in small groups, and a
  bare Node socket fed 15 bursts a second costs 2.9 ms/s. AES-CM (an HMAC-SHA1 per packet) measured no cheaper than
  GCM with cold caches.
- **Held, not decrypted** (D41): a camera nothing needs (the linger after its last viewer) now has its SRTP copied
  undecrypted into a ring, and decrypted in one go when a viewer, the recorder or a still needs it. That skips
  werift's decryption, router and receiver and our stream code for each packet: the camera's worker went from about
  13 ms/s to 7.5-8.5 ms/s (\`bench/idle-profile.ts\`, 30 s rounds). What is left is the floor above: waking up for
  each group of packets, werift's ICE layer, and copying into the ring.
- **Read past werift's layers, in batches** (D42): while a camera is held, its SRTP goes from werift's UDP
  transports straight to the hold, and its sockets pause between the ticks of one 100 ms timer per worker (the
  kernel queues the datagrams; one wake-up drains them) while a tick's traffic stays well under the receive buffer.
  Switched every 15 s in one worker: 7.8 ms/s with werift's path, 7.68 with the filter alone, 6.45 with batches.
- **Not kept**: sending each datagram without dgram's address lookup (a werift patch giving its sockets a lookup
  that answers an IP address at once, instead of a \`process.nextTick\` per datagram) measured 1.4% less worker CPU
  at 10 viewers (64.6 against 65.5 ms/s, ten 15 s windows of each, interleaved in one worker), within the noise, so
  werift's sockets are left as they are.`;
