import { classes, Message, methods, type RTCPeerConnection, StunOverTurnProtocol } from 'werift';

/** What this module touches of werift 0.24's TURN client (TurnProtocol, not in its typings as used here). */
interface WeriftTurnClient {
  relayedAddress?: [string, number];
  server: unknown;
  transport: { closed?: boolean };
  refreshHandle?: { resolve?: () => void };
  requestWithRetry(request: Message, addr: unknown): Promise<unknown>;
}

/** How long a peer's close waits for the TURN server to confirm a release. */
const RELEASE_WAIT_MS = 1000;

/**
 * Releases the TURN allocations of a werift peer connection before it closes: a Refresh with
 * LIFETIME 0 (RFC 8656 §7), which werift 0.24 never sends. Without it each camera session left
 * its UDP allocation for its whole lifetime (600 s) in the device's quota
 * (`turn.maxAllocationsPerDevice`, 10): from the eleventh session in ten minutes the camera's
 * Allocate got 486, werift fell back to TCP, left that connection open without an allocation,
 * and once 16 of those were open the next session's TURN gathering hung ~6.4 s before the
 * camera could answer (D26). Best effort: never throws, waits at most RELEASE_WAIT_MS.
 */
export async function releaseTurnAllocations(pc: RTCPeerConnection): Promise<number> {
  const clients: WeriftTurnClient[] = [];
  for (const transport of pc.iceTransports) {
    // The ICE connection's protocols (werift's Connection; IceConnection's typings omit them).
    const { protocols = [] } = transport.connection as unknown as { protocols?: unknown[] };
    for (const protocol of protocols) {
      if (!(protocol instanceof StunOverTurnProtocol)) continue;
      const turn = protocol.turn as unknown as WeriftTurnClient;
      if (turn.relayedAddress && !turn.transport.closed) clients.push(turn);
    }
  }
  if (clients.length === 0) return 0;
  let timer: NodeJS.Timeout | undefined;
  const released = await Promise.race([
    Promise.all(
      clients.map(async (turn) => {
        turn.refreshHandle?.resolve?.(); // its refresh loop must not renew what is being released
        const request = new Message(methods.REFRESH, classes.REQUEST);
        request.setAttribute('LIFETIME', 0);
        return turn.requestWithRetry(request, turn.server).then(
          () => 1,
          () => 0,
        );
      }),
    ).then((results) => results.reduce<number>((a, b) => a + b, 0)),
    new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(0), RELEASE_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  return released;
}
