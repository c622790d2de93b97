/**
 * Which new TCP/TLS connections the listeners accept. A connection costs a socket and a
 * framer but proves nothing until it holds an allocation, and a Binding every 50 s keeps it
 * from ever being idle; the global cap (`maxAllocations * 2 + 100`) alone lets one host hold
 * every connection. So each source IP may have only `perIp` connections without an
 * allocation at a time (RFC 8489 §6.2.2: servers follow best practices of connection
 * management under overload). Connections holding an allocation are not limited here:
 * the allocation quotas bound them. Pure: the listeners ask and report.
 */
export class TcpAdmission {
  readonly #byIp = new Map<string, Set<string>>();

  constructor(
    private readonly perIp: number,
    /** True when the connection `linkKey` holds an allocation now. */
    private readonly hasAllocation: (linkKey: string) => boolean,
  ) {}

  /** Records connection `linkKey` from `ip`, or returns false (close it) when `ip` has too many. */
  admit(ip: string, linkKey: string): boolean {
    const keys = this.#byIp.get(ip) ?? new Set<string>();
    let unallocated = 0;
    for (const key of keys) if (!this.hasAllocation(key)) unallocated++;
    if (unallocated >= this.perIp) return false;
    keys.add(linkKey);
    this.#byIp.set(ip, keys);
    return true;
  }

  /** The connection closed. */
  remove(ip: string, linkKey: string): void {
    const keys = this.#byIp.get(ip);
    if (!keys?.delete(linkKey)) return;
    if (keys.size === 0) this.#byIp.delete(ip);
  }
}
