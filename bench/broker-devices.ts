/**
 * Bench-only load generator for `npm run bench:broker` (a child process, driven over IPC).
 * It plays many cameras over raw TCP with mqtt-packet (an MQTT.js client per device would
 * make the generator, not the broker, the bottleneck): CONNECT with the device's real id and
 * secret, SUBSCRIBE `<prefix>/<id>/down/#` (what docs/mqtt-topics.md tells a camera to do),
 * and later signaling round trips: PUBLISH on `up/signal`, wait for the echo on `down/signal`.
 *
 * For Mosquitto the device also does what a camera must do there by itself to get presence:
 * a retained will on its `status`, and a retained "online" status after CONNACK.
 */
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface BenchDevice {
  id: string;
  secret: string;
}

export type GeneratorCommand =
  | {
      cmd: 'storm';
      port: number;
      prefix: string;
      devices: BenchDevice[];
      /** Connections being set up at once by this generator. */
      window: number;
      /** Mosquitto: the device publishes its own presence (will + retained status). */
      ownPresence: boolean;
    }
  | { cmd: 'rtt'; rate: number; seconds: number; seed: number; payloadBytes: number }
  | { cmd: 'close' };

export type GeneratorReport =
  | { kind: 'storm'; startedAt: number; endedAt: number; ready: number; failed: number; errors: string[] }
  | { kind: 'rtt'; samples: number[]; sent: number; lost: number };

interface Conn {
  device: BenchDevice;
  socket: net.Socket;
  ready: boolean;
  nextId: number;
}

const conns: Conn[] = [];
const pending = new Map<string, number>(); // "<id>/<seq>" -> send time (ms, high resolution)
const rttSamples: number[] = [];
let prefix = 'lookout';

function send(conn: Conn, packet: Packet): void {
  conn.socket.write(mqttPacket.generate(packet));
}

function nextMessageId(conn: Conn): number {
  conn.nextId = (conn.nextId % 65_535) + 1;
  return conn.nextId;
}

/** A loopback source address per device, stable for its id. */
function sourceAddress(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `127.0.0.${1 + (h % 250)}`;
}

/** Opens one device session; resolves true once its SUBSCRIBE is acknowledged. */
function openDevice(device: BenchDevice, port: number, ownPresence: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    // Cameras come from many addresses: spread the devices over 127.0.0.1-250 (all loopback on
    // Linux), so the broker's per-address caps and back-off see what a real fleet would.
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: sourceAddress(device.id) });
    socket.setNoDelay(true);
    const conn: Conn = { device, socket, ready: false, nextId: 0 };
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const status = `${prefix}/${device.id}/status`;
    const settle = (ok: boolean) => {
      if (!conn.ready && !ok) socket.destroy();
      resolve(ok);
    };
    socket.on('connect', () => {
      send(conn, {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: device.id,
        username: device.id,
        password: Buffer.from(device.secret),
        clean: true,
        keepalive: 300,
        ...(ownPresence
          ? {
              will: {
                topic: status,
                payload: Buffer.from('{"online":false}'),
                qos: 1,
                retain: true,
              },
            }
          : {}),
      } as Packet);
    });
    parser.on('packet', (packet: Packet) => onPacket(conn, packet, settle, ownPresence));
    parser.on('error', () => settle(false));
    socket.on('data', (data) => parser.parse(data));
    socket.on('error', () => settle(false));
    socket.on('close', () => settle(false));
  });
}

function onPacket(conn: Conn, packet: Packet, settle: (ok: boolean) => void, ownPresence: boolean): void {
  const { device } = conn;
  switch (packet.cmd) {
    case 'connack':
      if (packet.returnCode !== 0) {
        settle(false);
        return;
      }
      if (ownPresence) {
        send(conn, {
          cmd: 'publish',
          topic: `${prefix}/${device.id}/status`,
          payload: Buffer.from(JSON.stringify({ online: true, at: new Date().toISOString() })),
          qos: 1,
          retain: true,
          dup: false,
          messageId: nextMessageId(conn),
        });
      }
      send(conn, {
        cmd: 'subscribe',
        messageId: nextMessageId(conn),
        subscriptions: [{ topic: `${prefix}/${device.id}/down/#`, qos: 1 }],
      } as Packet);
      return;
    case 'suback': {
      const ok = packet.granted.every((g) => g !== 128);
      if (ok) {
        conn.ready = true;
        conns.push(conn);
      }
      settle(ok);
      return;
    }
    case 'publish': {
      if (packet.qos === 1) send(conn, { cmd: 'puback', messageId: packet.messageId! });
      const seq = /"seq":(\d+)/.exec(packet.payload.toString())?.[1];
      const key = `${device.id}/${seq}`;
      const sentAt = pending.get(key);
      if (sentAt !== undefined) {
        pending.delete(key);
        rttSamples.push(performance.now() - sentAt);
      }
      return;
    }
    default:
      return;
  }
}

async function storm(command: Extract<GeneratorCommand, { cmd: 'storm' }>): Promise<GeneratorReport> {
  prefix = command.prefix;
  const startedAt = Date.now();
  let next = 0;
  let failed = 0;
  const errors: string[] = [];
  const worker = async () => {
    while (next < command.devices.length) {
      const device = command.devices[next++]!;
      if (!(await openDevice(device, command.port, command.ownPresence))) {
        failed++;
        if (errors.length < 5) errors.push(device.id);
      }
    }
  };
  await Promise.all(Array.from({ length: command.window }, worker));
  return { kind: 'storm', startedAt, endedAt: Date.now(), ready: conns.length, failed, errors };
}

/** Seeded (mulberry32), so each run picks the same devices in the same order. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function roundTrips(command: Extract<GeneratorCommand, { cmd: 'rtt' }>): Promise<GeneratorReport> {
  rttSamples.length = 0;
  pending.clear();
  const pick = random(command.seed);
  const padding = 'x'.repeat(command.payloadBytes);
  const total = Math.round(command.rate * command.seconds);
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * command.rate));
      for (; sent < due; sent++) {
        const conn = conns[Math.floor(pick() * conns.length)]!;
        pending.set(`${conn.device.id}/${sent}`, performance.now());
        send(conn, {
          cmd: 'publish',
          topic: `${prefix}/${conn.device.id}/up/signal`,
          payload: Buffer.from(`{"v":1,"type":"bench","seq":${sent},"pad":"${padding}"}`),
          qos: 1,
          retain: false,
          dup: false,
          messageId: nextMessageId(conn),
        });
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  // Condition, not a sleep: the last echoes arrive, or 2 s pass (then they count as lost).
  const deadline = performance.now() + 2000;
  while (pending.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return { kind: 'rtt', samples: [...rttSamples], sent, lost: pending.size };
}

process.on('message', (command: GeneratorCommand) => {
  const reply = (report: GeneratorReport) => process.send!(report);
  if (command.cmd === 'storm') void storm(command).then(reply);
  else if (command.cmd === 'rtt') void roundTrips(command).then(reply);
  else {
    for (const conn of conns) conn.socket.destroy();
    process.exit(0);
  }
});
