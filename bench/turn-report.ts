/** The `turn` section of docs/benchmarks.md, from the measurements of bench/turn.ts. */
import { median } from './report.js';

export type Direction = 'to-peer' | 'to-client';
export type Mode = 'paced' | 'flood';

export interface Measure {
  rate: number;
  cpuUs: number;
  loss: number;
  /** Packets the generator could not send in time (it was the limit). */
  skipped: number;
}

export interface ReportSetup {
  machine: string;
  loadAtStart: string;
  coturn: string;
  serverCpu: number;
  loadCpu: number;
  flows: number;
  size: number;
  paced: number;
  flood: number;
  warmup: string;
  seconds: string;
  runs: number;
  directions: Direction[];
}

/**
 * What the profile of the embedded server showed and what was changed (D27). Written with
 * each run's figures; re-profile with `--cpu-prof DIR` (and `--baseline` for the old code).
 */
const PROFILE_NOTES = `Profile of the embedded server's relay path (\`--cpu-prof\`, both directions, 40k pkt/s paced then flooded,
\`npx tsx bench/cpu-profile-top.ts\`, self time as a share of busy time). Before (issue 10, item 4): \`doSend\` (dgram's
send, which includes the kernel's \`sendmsg\` and the loopback delivery to the peer) 58.8%, \`(program)\` (libuv's
\`recvmsg\` and Node's receive path) 17.6%, GC 3.7%, \`peerAllowed\` 2.2% (an \`ip|port\` string and map lookup per
packet), \`FastBuffer\` 2.1% (\`Buffer.alloc\` per ChannelData to a client), \`AllocationTable.get\` 1.6% (a
\`udp:ip:port\` key built per packet, looked up twice), \`processTicksAndRejections\`/\`nextTick\`/\`runMicrotasks\`/\`lookup\`/
the IPv4 regex ~3% (dgram's default \`dns.lookup\` defers every send to the next tick), \`channelFor\` 0.9%. Changed:
the UDP listener finds the allocation by client port then IP and passes it on (one lookup, no key string); channel
bindings are indexed by peer port then IP and hold their peer's filter verdict (permission and peer-filter checks stay
per packet, the verdict cache still expires in 5 s); the UDP sockets get a \`lookup\` that answers an IP literal at once;
ChannelData to clients is framed in a pooled buffer. After: \`doSend\` 68.2%, \`(program)\` 18.8%, GC 1.6%, every
function of \`turn/\` under 1.2%. What is left is the kernel (\`perf\`: ~60% of the server's CPU, \`sendmsg\` ~44%,
\`recvmsg\` ~14%; coturn spends ~92% there) and Node's per-datagram work in dgram (a \`SendWrap\` per send, a buffer
and an \`rinfo\` object per receive, one JS callback per datagram), which no JS-level change reaches.`;

export function turnReport(results: Map<string, Measure[]>, names: string[], setup: ReportSetup): string {
  const med = (key: string, field: keyof Measure) => median((results.get(key) ?? []).map((m) => m[field]));
  const spread = (key: string, field: keyof Measure, digits: number) => {
    const v = (results.get(key) ?? []).map((m) => m[field]);
    return `${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)}`;
  };
  const rows: string[] = [];
  const ratios: string[] = [];
  const ratio = (a: string, b: string, direction: Direction, mode: Mode, field: keyof Measure) =>
    (med(`${a}/${direction}/${mode}`, field) / med(`${b}/${direction}/${mode}`, field)).toFixed(2);
  for (const direction of setup.directions) {
    for (const name of names) {
      const k = (mode: Mode) => `${name}/${direction}/${mode}`;
      rows.push(
        `| ${direction} | ${name} | ${med(k('paced'), 'cpuUs').toFixed(2)} (${spread(k('paced'), 'cpuUs', 2)}) | ` +
          `${med(k('paced'), 'loss').toFixed(2)}% | ${med(k('flood'), 'cpuUs').toFixed(2)} (${spread(k('flood'), 'cpuUs', 2)}) | ` +
          `${Math.round(med(k('flood'), 'rate'))} (${spread(k('flood'), 'rate', 0)}) | ${med(k('flood'), 'loss').toFixed(1)}% |`,
      );
    }
    if (names.includes('embedded') && names.includes('coturn')) {
      ratios.push(
        `- ${direction}: CPU per relayed packet, embedded/coturn: **${ratio('embedded', 'coturn', direction, 'flood', 'cpuUs')}** flooded, ` +
          `**${ratio('embedded', 'coturn', direction, 'paced', 'cpuUs')}** paced; relayed rate when flooded ${ratio('embedded', 'coturn', direction, 'flood', 'rate')}.`,
      );
    }
    if (names.includes('embedded') && names.includes('node-floor') && names.includes('coturn')) {
      ratios.push(
        `- ${direction}: CPU per relayed packet, node-floor/coturn (Node's dgram with no TURN logic): ` +
          `${ratio('node-floor', 'coturn', direction, 'flood', 'cpuUs')} flooded, ${ratio('node-floor', 'coturn', direction, 'paced', 'cpuUs')} paced; ` +
          `embedded/node-floor ${ratio('embedded', 'node-floor', direction, 'flood', 'cpuUs')} flooded, ${ratio('embedded', 'node-floor', direction, 'paced', 'cpuUs')} paced.`,
      );
    }
    if (names.includes('embedded') && names.includes('baseline')) {
      ratios.push(
        `- ${direction}: CPU per relayed packet, embedded/baseline (\`--baseline\` checkout): ` +
          `${ratio('embedded', 'baseline', direction, 'flood', 'cpuUs')} flooded, ${ratio('embedded', 'baseline', direction, 'paced', 'cpuUs')} paced.`,
      );
    }
  }
  return `## TURN relay cost (\`npm run bench:turn\`)

${setup.machine}; load average at start ${setup.loadAtStart}. Each server runs in its own process pinned to CPU ${setup.serverCpu} with
\`taskset\`: the embedded server (\`bench/turn-embedded.ts\` under Node) and coturn ${setup.coturn} (\`turnserver\`, Debian
package, default threads). ${setup.flows} allocations with one channel each are made from Node (long-term auth); a C load
generator (\`bench/turn-load.c\`, built with \`cc -O2\` at bench time, sendmmsg/recvmmsg) pinned to CPU ${setup.loadCpu} takes over
their client ports and binds the ${setup.flows} peer sockets, then sends ${setup.size}-byte payloads as ChannelData (to-peer: client ->
server -> relay -> peer) or as plain UDP to the relay ports (to-client: peer -> relay -> server -> ChannelData to the
client); ${setup.warmup} s warm-up, then a ${setup.seconds} s window. **CPU/pkt**: the server's utime+stime (/proc/<pid>/stat, all
threads; softirq work done in its context included) over the window / packets delivered in it. *Paced*: ${setup.paced} pkt/s
offered, below both servers' limits (CPU per packet includes a wake-up per small batch); *flooded*: ${setup.flood} pkt/s offered,
above them (the server works on full socket buffers: the per-packet cost proper). The relayed rate when flooded is the
server's capacity on its core only on a quiet machine: other processes on that core lower it, and the generator logs
when it could not keep its rate.${names.includes('node-floor') ? " `node-floor` (`bench/turn-floor.ts`) is the same sockets and flows relayed by a bare dgram forwarder with no TURN logic: what any relay on Node's dgram costs." : ''}
Medians of ${setup.runs} interleaved runs, spread in brackets.

| direction | server | paced: CPU µs/pkt | paced: loss | flooded: CPU µs/pkt | flooded: relayed pkt/s | flooded: loss |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

${ratios.join('\n')}

${PROFILE_NOTES}`;
}
