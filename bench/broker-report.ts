/** The `broker` section of docs/benchmarks.md, from the runs of `npm run bench:broker`. */
import { machine, median, percentile } from './report.js';

export type BrokerName = 'lookout' | 'mosquitto';

export interface RunResult {
  stormMs: number;
  presenceMs: number;
  cpuSeconds: number;
  rssPerClientKiB: number;
  failed: number;
  rtt: number[];
  rttLost: number;
  /** Lookout only: the broker's event-loop delay during the round trips (ms). */
  loopDelay?: { p50: number; p99: number; max: number };
}

export interface BenchSetup {
  devices: number;
  runs: number;
  generators: number;
  window: number;
  rttRate: number;
  rttSeconds: number;
  payloadBytes: number;
}

export function report(
  all: Record<BrokerName, RunResult[]>,
  brokers: BrokerName[],
  load: string,
  setup: BenchSetup,
): string {
  const { devices: N, runs: RUNS, generators: GENERATORS, window: WINDOW } = setup;
  const { rttRate: RTT_RATE, rttSeconds: RTT_SECONDS, payloadBytes: PAYLOAD } = setup;
  const rows = brokers.map((name) => {
    const rs = all[name];
    const storm = rs.map((r) => r.stormMs / 1000);
    const rtt = rs.flatMap((r) => r.rtt);
    return {
      name,
      storm: median(storm),
      spread: `${Math.min(...storm).toFixed(2)}-${Math.max(...storm).toFixed(2)} s`,
      presence: median(rs.map((r) => r.presenceMs / 1000)),
      cpu: median(rs.map((r) => r.cpuSeconds)),
      rss: median(rs.map((r) => r.rssPerClientKiB)),
      p50: percentile(rtt, 50),
      p99: percentile(rtt, 99),
      lost: rs.reduce((n, r) => n + r.rttLost, 0),
      failed: rs.reduce((n, r) => n + r.failed, 0),
      loop: rs.some((r) => r.loopDelay)
        ? `${median(rs.map((r) => r.loopDelay?.p99 ?? 0))} / ${Math.max(...rs.map((r) => r.loopDelay?.max ?? 0))} ms`
        : 'n/a',
    };
  });
  const table = rows.map(
    (r) =>
      `| ${r.name === 'lookout' ? 'Lookout (aedes)' : 'Mosquitto 2.0 (Debian)'} | ${r.storm.toFixed(2)} s | ${r.spread} | ` +
      `${r.presence.toFixed(2)} s | ${r.cpu.toFixed(1)} s | ${r.rss.toFixed(1)} KiB | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.loop} | ${r.lost} | ${r.failed} |`,
  );
  const look = rows.find((r) => r.name === 'lookout');
  const mosq = rows.find((r) => r.name === 'mosquitto');
  const ratio = look && mosq ? look.storm / mosq.storm : undefined;
  const lines = [
    '## MQTT connect storm (`npm run bench:broker`)',
    '',
    `${N} registered devices connect at once with their real ids and secrets and subscribe to their \`down/#\`, from`,
    `${GENERATORS} generator processes over raw TCP (mqtt-packet) from source addresses spread over 127.0.0.1-250 (a fleet comes from many addresses), ${WINDOW} connections in progress per generator; then`,
    `signaling round trips (device \`up/signal\` -> echo service -> device \`down/signal\`, QoS 1, ${PAYLOAD}-byte payload)`,
    `at ${RTT_RATE}/s for ${RTT_SECONDS} s. An echo service (like the media node) subscribes to \`+/up/signal\` and \`+/status\`.`,
    'Lookout: the broker as `lookout serve` wires it (registry, presence, info logs to a file). Mosquitto: Debian 2.0,',
    "password file (mosquitto_passwd), client id = user name, an ACL equivalent to Lookout's; devices publish their own",
    "presence (retained will and status) and the store starts with every device's retained offline status, as Lookout's does.",
    `Storm: first CONNECT to last SUBACK; presence: until the service has seen every device online. ${RUNS} runs each,`,
    "alternating; medians. CPU: the broker process's user+system time during the storm. RSS/client: broker RSS growth / N.",
    "RTT percentiles pool the runs' samples. Loop delay: the Lookout broker's event-loop delay during the round trips",
    "(median of the runs' p99, largest max): time the broker could not react, from GC or from waiting for a core.",
    '',
    '| Broker | Storm (median) | Spread | Presence seen | Broker CPU | RSS/client | RTT p50 | RTT p99 | Loop delay p99 / max | RTT lost | Failed logins |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...table,
    '',
    ...(ratio !== undefined
      ? [
          `Lookout / Mosquitto storm time: **${ratio.toFixed(2)}** (target <= 2: ${ratio <= 2 ? 'met' : 'not met'}); ` +
            `Lookout RTT p99 ${look!.p99.toFixed(1)} ms (target <= 25 ms: ${look!.p99 <= 25 ? 'met' : 'not met'}).`,
          '',
        ]
      : []),
    `Machine: ${machine()}; load average at start: ${load} (shared machine, other work running).`,
    'The brokers and the load generators share the same cores.',
  ];
  return lines.join('\n');
}
