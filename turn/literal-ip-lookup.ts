import type { LookupOneOptions } from 'node:dns';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * The `lookup` of the TURN server's UDP sockets. Every address they send to is an IP literal
 * (a client's source address, a decoded XOR-PEER-ADDRESS), but dgram's default lookup is
 * `dns.lookup`, which tests the literal with a regular expression and answers on the next tick
 * (a closure and a queued callback per packet). This answers at once with the address as given;
 * a non-literal would fail in the send itself (dropped, as any failed send).
 */
export function literalIpLookup(
  address: string,
  options: LookupOneOptions | number,
  callback: LookupCallback,
): void {
  const family = typeof options === 'number' ? options : options.family === 6 ? 6 : 4;
  callback(null, address, family);
}
