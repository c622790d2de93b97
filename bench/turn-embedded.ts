/**
 * Bench-only starter: runs the embedded TURN server on 127.0.0.1 (loopback peers allowed),
 * prints `{"port": N}` once listening and closes on SIGTERM. Not the production wiring.
 */
import { createLogger } from '../core/log.js';
import { createTurnServer } from '../turn/index.js';

const secret = process.argv[2] ?? 'bench-secret-0123456789';
const server = await createTurnServer(
  {
    host: '127.0.0.1',
    port: 0,
    realm: 'lookout',
    allowedPeerIps: ['127.0.0.1'],
    deniedPeerIps: [],
    maxAllocations: 1000,
    maxAllocationsPerDevice: 1000,
  },
  { log: createLogger({ level: 'warn', format: 'json' }), secret, deviceAllowed: () => true },
);
process.stdout.write(`${JSON.stringify({ port: server.address().udp.port })}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
