import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LookoutError } from '../core/errors.js';
import type { Segment } from '../devices/index.js';
import { type ArchivePeers, nodeUnavailable, openPeer } from '../recordings/index.js';

export interface ProxyLimits {
  /** Proxied downloads at once, all clients together. */
  overall: number;
  /** Proxied downloads at once for one client (a token or a session). */
  perClient: number;
}

const DEFAULT_LIMITS: ProxyLimits = { overall: 64, perClient: 8 };
/** The holder's headers a browser needs to play and seek (RFC 9110 §14). */
const PASSED_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'last-modified',
  'etag',
];

/**
 * A segment (or its thumbnail) another node holds, served through this one (D40): the browser stays
 * on one origin with its session cookie, and its Range requests reach the holder unchanged, so a
 * `<video>` element seeks as on a single host. Bounded per client and overall (ARCHIVE_BUSY), each
 * answer to the size it may have; the holder's request is abandoned when the client hangs up.
 */
export class ArchiveProxy {
  #running = 0;
  readonly #perClient = new Map<string, number>();

  constructor(
    private readonly peers: ArchivePeers | undefined,
    private readonly limits: ProxyLimits = DEFAULT_LIMITS,
  ) {}

  /**
   * Answers `request` with `target` of the node holding `segment`, its status (200, 206, 416) and
   * headers, plus `headers`. `maxBytes`: the most the body may hold. Throws NODE_UNAVAILABLE,
   * ARCHIVE_BUSY, or the holder's own code.
   */
  async forward(
    request: FastifyRequest,
    reply: FastifyReply,
    what: {
      segment: Segment;
      target: string;
      maxBytes: number;
      client: string;
      headers: Record<string, string>;
    },
  ): Promise<FastifyReply> {
    if (!this.peers) throw nodeUnavailable(what.segment, 'this node cannot reach (not in a cluster)');
    const mine = this.#perClient.get(what.client) ?? 0;
    if (this.#running >= this.limits.overall || mine >= this.limits.perClient) {
      throw new LookoutError(
        'ARCHIVE_BUSY',
        'too many recordings are being read from other nodes; try again shortly',
      );
    }
    this.#running++;
    this.#perClient.set(what.client, mine + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#running--;
      const left = (this.#perClient.get(what.client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(what.client, left);
      else this.#perClient.delete(what.client);
    };
    const abort = new AbortController();
    reply.raw.once('close', () => {
      abort.abort();
      release();
    });
    let upstream: IncomingMessage;
    try {
      const range = typeof request.headers.range === 'string' ? request.headers.range : undefined;
      upstream = await openPeer(this.peers, what.segment, what.target, {
        ...(range ? { range } : {}),
        signal: abort.signal,
      });
    } catch (err) {
      release();
      throw err;
    }
    const declared = Number(upstream.headers['content-length'] ?? 0);
    if (declared > what.maxBytes) {
      upstream.destroy();
      release();
      throw nodeUnavailable(what.segment, `sent a ${declared}-byte answer, more than it may hold`);
    }
    for (const name of PASSED_HEADERS) {
      const value = upstream.headers[name];
      if (typeof value === 'string') reply.header(name, value);
    }
    for (const [name, value] of Object.entries(what.headers)) reply.header(name, value);
    reply.header('x-lookout-node', what.segment.node);
    let sent = 0;
    const bound = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        done(sent > what.maxBytes ? new Error('the holder sent more than the segment holds') : null, chunk);
      },
    });
    upstream.once('error', (err) => bound.destroy(err));
    upstream.once('close', release);
    return reply.code(upstream.statusCode ?? 502).send(upstream.pipe(bound));
  }

  /** Downloads being proxied now (tests, metrics). */
  get running(): number {
    return this.#running;
  }
}
