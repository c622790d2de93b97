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
const spread = (xs: number[], digits = 1) =>
  `${fixed(Math.min(...xs), digits)}–${fixed(Math.max(...xs), digits)}`;

export function fanoutReport(
  measured: Measured,
  setup: {
    steps: number[];
    runs: number;
    seconds: number;
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
        row: `| ${n} | ${name === 'lookout' ? 'Lookout' : 'Janus'} | **${fixed(median(cpu), 2)}** (${spread(cpu, 2)}) | ${fixed(median(samples.map((s) => s.kernelShare * 100)), 0)}% | ${fixed(median(samples.map((s) => s.loss * 100)), 2)}% | ${fixed(median(samples.map((s) => s.rssMbPerViewer * 1024)), 0)} KB | ${fixed(median(samples.map((s) => s.mbps)), 2)} Mbps |`,
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
Lookout and Janus runs interleave (${setup.runs} runs each, order alternating); each step measures ${setup.seconds} s after
the viewers settle. **CPU** is the server process's user+system time (all threads, the camera's ingest included) per
second of one viewer watching; medians, with the spread over the runs. **Memory** is the RSS the step added, per viewer.
Loss is from the viewers' RTP sequence numbers.

| Viewers | Server | CPU-ms per viewer-second | of which kernel | Video loss | Memory per viewer | Video per viewer |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

- Lookout / Janus CPU per viewer-second: ${ratios.join(', ')}.
- Camera streaming, no viewer: Lookout ${idle('lookout')}, Janus ${idle('janus')}.
- Janus receives plain RTP from ffmpeg on loopback; Lookout receives the camera over WebRTC (ICE, DTLS, SRTP),
  so its idle figure includes decrypting the camera's SRTP.
- The viewers (werift, decrypting SRTP in JavaScript) run on the same cores; they, not the servers, bound how many
  viewers this machine can show.

Machine: ${setup.machine}; load average at the end: ${setup.load}.`;
}
