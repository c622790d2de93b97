import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { raiseReceiveBuffers } from '../../../media/receive-buffers.js';
import { waitFor } from '../../helpers/wait-for.js';

const peers: RTCPeerConnection[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((pc) => pc.close()));
});

/** The kernel's default receive buffer for a UDP socket, as Node reports it. */
async function defaultReceiveBuffer(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const size = s.getRecvBufferSize();
  s.close();
  return size;
}

describe('receive buffers of the sockets that take a camera’s media', () => {
  it('are raised above the kernel default on every socket werift bound, and a closed peer is no error', async () => {
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    peers.push(pc);
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await waitFor(() => pc.iceGatheringState === 'complete', { timeoutMs: 20_000, what: 'ICE gathering' });

    const before = await defaultReceiveBuffer();
    const sizes = raiseReceiveBuffers(pc);
    expect(sizes.length).toBeGreaterThan(0);
    // Linux grants min(request, net.core.rmem_max) and reports twice that: above the default.
    for (const size of sizes) expect(size).toBeGreaterThan(before);

    await pc.close();
    expect(() => raiseReceiveBuffers(pc)).not.toThrow();
  });
});
