/**
 * npm run bench:turn — relays a packet flood through the embedded TURN server and through
 * coturn (`turnserver`) on this machine, in one run, and reports the highest relayed packet
 * rate each sustains (offered-rate ladder, client -> TURN (ChannelData over UDP) -> peer),
 * medians over several runs, and their ratio. Writes the `turn` section of docs/benchmarks.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TurnTestClient } from '../test/helpers/turn-client.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { issueTurnCredentials } from '../turn/index.js';
import { machine, median, writeSection } from './report.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rates: { type: 'string', default: '5000,10000,15000,20000,25000,30000,40000,50000,60000,80000' },
    seconds: { type: 'string', default: '2' },
    clients: { type: 'string', default: '4' },
    size: { type: 'string', default: '1000' },
    'max-loss': { type: 'string', default: '1' },
  },
});
const runs = Number(values.runs);
const rates = values.rates.split(',').map(Number);
const seconds = Number(values.seconds);
const clientCount = Number(values.clients);
const size = Number(values.size);
const maxLossPercent = Number(values['max-loss']);
const SECRET = 'bench-turn-secret-0123456789';
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const EMBEDDED = fileURLToPath(new URL('./turn-embedded.ts', import.meta.url));

interface Server {
  name: string;
  port: number;
  child: ChildProcess;
}

async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function startEmbedded(): Promise<Server> {
  const child = spawn(process.execPath, ['--import', TSX, EMBEDDED, SECRET], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const port = await waitFor(() => JSON.parse(out.split('\n')[0] || 'null')?.port as number | undefined, {
    timeoutMs: 20_000,
    what: 'embedded TURN server',
  });
  return { name: 'embedded', port, child };
}

async function startCoturn(): Promise<Server> {
  const port = await freePort();
  const minPort = 30_000 + Math.floor(Math.random() * 100) * 100;
  // biome-ignore format: one flag per line reads better
  const args = [
    '-n', '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log',
    '--listening-ip', '127.0.0.1', '--listening-port', String(port), '--relay-ip', '127.0.0.1',
    '--use-auth-secret', '--static-auth-secret', SECRET, '--realm', 'lookout',
    '--allow-loopback-peers', '--allowed-peer-ip=127.0.0.1', '--min-port', String(minPort), '--max-port', String(minPort + 99),
    '--pidfile', `/tmp/bench-turnserver-${port}.pid`,
  ];
  const child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => {
    log += d;
  });
  child.stderr!.on('data', (d) => {
    log += d;
  });
  await waitFor(
    () => /Total (General|UDP|auth) servers|IPv4. UDP listener opened|listener opened on/i.test(log),
    {
      timeoutMs: 10_000,
      what: `turnserver to listen; its log:\n${log}`,
    },
  );
  return { name: 'coturn', port, child };
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

/** One ladder against one server: the highest rate relayed with at most max-loss. */
async function ladder(server: Server): Promise<{ rate: number; loss: number; steps: string[] }> {
  const sink = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let received = 0;
  sink.on('message', () => {
    received++;
  });
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const peer = { ip: '127.0.0.1', port: sink.address().port };
  const clients: TurnTestClient[] = [];
  for (let i = 0; i < clientCount; i++) {
    const { username, credential } = issueTurnCredentials({
      secret: SECRET,
      deviceId: `bench${i}`,
      ttlSeconds: 3600,
      nowMs: Date.now(),
    });
    const c = await TurnTestClient.open({ ip: '127.0.0.1', port: server.port }, 'udp', {
      username,
      password: credential,
    });
    const allocated = await c.allocate();
    const bound = await c.channelBind(0x4000 + i, peer);
    if (allocated.code || bound.code)
      throw new Error(`${server.name}: allocate ${allocated.code}, bind ${bound.code}`);
    clients.push(c);
  }
  const payload = Buffer.alloc(size, 0xab);
  const step = async (rate: number): Promise<{ delivered: number; loss: number }> => {
    received = 0;
    let sent = 0;
    const perTick = rate / 100;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.floor(((Date.now() - started) / 10) * perTick) - sent;
        for (let n = 0; n < due; n++) {
          clients[sent % clients.length]!.sendChannelData(0x4000 + (sent % clients.length), payload);
          sent++;
        }
        if (Date.now() - started >= seconds * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    const elapsed = (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 300)); // drain
    return { delivered: received / elapsed, loss: sent ? (100 * (sent - received)) / sent : 0 };
  };
  await step(rates[0]!); // warm-up (JIT, first packets), not counted
  let best = { rate: 0, loss: 0 };
  const steps: string[] = [];
  for (const rate of rates) {
    let result = await step(rate);
    // One retry: a single stall (GC, a neighbour on the shared cores) should not end the ladder.
    if (result.loss > maxLossPercent) result = await step(rate);
    const errors = clients.reduce((n, c) => n + c.sendErrors, 0);
    steps.push(
      `${rate}:${Math.round(result.delivered)}/${result.loss.toFixed(2)}%${errors ? `/${errors} send errors` : ''}`,
    );
    if (result.loss > maxLossPercent) break;
    best = { rate: result.delivered, loss: result.loss };
  }
  await Promise.all(clients.map((c) => c.close()));
  sink.close();
  return { ...best, steps };
}

const loadAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const results: Record<string, Array<{ rate: number; loss: number }>> = { embedded: [], coturn: [] };
for (let run = 0; run < runs; run++) {
  for (const start of [startEmbedded, startCoturn]) {
    const server = await start();
    try {
      const result = await ladder(server);
      results[server.name]!.push(result);
      console.log(
        `run ${run + 1} ${server.name}: ${Math.round(result.rate)} pkt/s at ${result.loss.toFixed(2)}% loss  [${result.steps.join(' ')}]`,
      );
    } finally {
      await stop(server);
    }
  }
}

const summary = (name: string) => {
  const rates = results[name]!.map((r) => r.rate);
  return {
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    loss: median(results[name]!.map((r) => r.loss)),
  };
};
const embedded = summary('embedded');
const coturn = summary('coturn');
const ratio = embedded.median / coturn.median;
const row = (name: string, s: ReturnType<typeof summary>) =>
  `| ${name} | ${Math.round(s.median)} | ${Math.round(s.min)}–${Math.round(s.max)} | ${Math.round((s.median * size * 8) / 1e6)} | ${s.loss.toFixed(2)}% |`;
const body = `## TURN relay rate (\`npm run bench:turn\`)

${machine()}. ${clientCount} UDP clients send ${size}-byte ChannelData to one UDP peer on loopback through the server;
after a warm-up the offered rate climbs (${rates.join(', ')} pkt/s, ${seconds} s each, a failed step retried once) until
more than ${maxLossPercent}% is lost. Figure: the highest delivered rate with at most ${maxLossPercent}% loss, median of ${runs} runs.
When both reach the top step, the load generator (one Node process) is the limit, not the servers; on a loaded machine a
stall from a neighbour ends a ladder early, hence the spread: compare the rows of one run, on a quiet machine for figures that matter. The load generator and peer run in one
Node process on the same cores as the server (load average at start: ${loadAtStart}). coturn: \`turnserver\` (Debian package) with its default relay threads.

| server | relayed pkt/s (median) | spread | Mbit/s | loss at that rate |
| --- | --- | --- | --- | --- |
${row('embedded (Node)', embedded)}
${row('coturn', coturn)}

Embedded / coturn: **${ratio.toFixed(2)}**.`;
console.log(`\n${body}`);
writeSection('turn', body);
