/**
 * Bench-only: the floor of a UDP relay written on Node's dgram, for `npm run bench:turn` (`node-floor`).
 * No TURN at all: ChannelData arriving on the listener goes to the peer of its channel through
 * that channel's relay socket, and a datagram arriving on relay socket i goes to client i as
 * ChannelData; the same sockets and flows as the embedded server, none of its checks. What
 * the embedded server costs above this is its TURN logic; the rest is Node's dgram.
 *
 * argv: one `clientPort:channel:peerPort` per flow (channels from 0x4000 up, in order).
 * Prints `{"port": N, "relays": [...]}` once bound; exits on SIGTERM.
 */
import { createSocket, type Socket } from 'node:dgram';
import { encodeChannelData } from '../turn/channel-data.js';
import { literalIpLookup } from '../turn/literal-ip-lookup.js';

const flows = process.argv.slice(2).map((arg) => {
  const [clientPort, channel, peerPort] = arg.split(':').map(Number);
  return { clientPort: clientPort!, channel: channel!, peerPort: peerPort! };
});
const udp = (): Socket =>
  createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20, lookup: literalIpLookup });
const bind = (socket: Socket) => new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));

const listener = udp();
const relays = flows.map(() => udp());
await Promise.all([listener, ...relays].map(bind));
listener.on('message', (packet) => {
  const index = packet.readUInt16BE(0) - 0x4000;
  const flow = flows[index];
  if (flow && packet.length >= 4) relays[index]!.send(packet.subarray(4), flow.peerPort, '127.0.0.1');
});
relays.forEach((relay, i) => {
  const flow = flows[i]!;
  relay.on('message', (data) =>
    listener.send(encodeChannelData(flow.channel, data, false), flow.clientPort, '127.0.0.1'),
  );
});
process.stdout.write(
  `${JSON.stringify({ port: listener.address().port, relays: relays.map((r) => r.address().port) })}\n`,
);
process.once('SIGTERM', () => process.exit(0));
