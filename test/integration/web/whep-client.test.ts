import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import {
  framesDecoded,
  retryAfterSeconds,
  startWhep,
  WhepError,
  type WhepPeer,
  whepUrl,
} from '../../../web/src/whep.js';

// The web app's WHEP client (web/src/whep.ts, no DOM) with real peers: a werift peer stands in
// for the browser's RTCPeerConnection, and a real HTTP server answers with a werift peer's SDP
// (or with the problem documents Lookout's WHEP route sends).

/** A werift peer behind the slice of RTCPeerConnection the client uses. */
function weriftPeer(): { peer: WhepPeer; pc: RTCPeerConnection; closed: () => boolean } {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const listeners = new Set<() => void>();
  pc.iceGatheringStateChange.subscribe(() => {
    for (const l of listeners) l();
  });
  let closed = false;
  const peer: WhepPeer = {
    addTransceiver: (kind, init) => pc.addTransceiver(kind, init),
    createOffer: async () => {
      const offer = await pc.createOffer();
      return { type: 'offer', sdp: offer.sdp };
    },
    setLocalDescription: async (d) => {
      await pc.setLocalDescription(d);
    },
    get localDescription() {
      return pc.localDescription ?? null;
    },
    setRemoteDescription: async (d) => {
      await pc.setRemoteDescription(d);
    },
    get iceGatheringState() {
      return pc.iceGatheringState;
    },
    addEventListener: (_type, listener) => listeners.add(listener),
    removeEventListener: (_type, listener) => listeners.delete(listener),
    getStats: async () => new Map(),
    close: () => {
      closed = true;
      void pc.close();
    },
  };
  return { peer, pc, closed: () => closed };
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP server on a free port answering with `handle`; records every request. */
async function server(handle: (req: Seen, res: ServerResponse) => Promise<void> | void) {
  const seen: Seen[] = [];
  const http: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(request);
      void handle(request, res);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  // Relative URLs (as the page uses them) are resolved against this server.
  const fetchFn = (url: string, init: Parameters<typeof fetch>[1]) => fetch(new URL(url, base), init);
  return { seen, fetchFn };
}

describe('the web app WHEP client', () => {
  it('POSTs a complete offer with the token, applies the answer, and DELETEs the session on stop', async () => {
    const answerer = new RTCPeerConnection({ iceServers: [] });
    cleanups.push(() => answerer.close());
    const { seen, fetchFn } = await server(async (req, res) => {
      if (req.method === 'POST') {
        await answerer.setRemoteDescription({ type: 'offer', sdp: req.body });
        await answerer.setLocalDescription(await answerer.createAnswer());
        res.writeHead(201, { 'content-type': 'application/sdp', location: '/whep/cam%201/sessions/s1' });
        res.end(answerer.localDescription!.sdp);
      } else {
        res.writeHead(204).end();
      }
    });
    const { peer, pc, closed } = weriftPeer();
    const session = await startWhep(peer, whepUrl('cam 1'), { authorization: 'Bearer lkt_secret' }, fetchFn);

    expect(seen[0]).toMatchObject({ method: 'POST', url: '/whep/cam%201' });
    expect(seen[0]!.headers['content-type']).toBe('application/sdp');
    expect(seen[0]!.headers.authorization).toBe('Bearer lkt_secret');
    // One complete offer: receive-only video and audio, with its candidates.
    expect(seen[0]!.body).toMatch(/m=video [\s\S]*a=recvonly[\s\S]*m=audio /);
    expect(seen[0]!.body).toMatch(/a=candidate:/);
    expect(pc.remoteDescription?.sdp).toBe(answerer.localDescription!.sdp);
    expect(session.location).toBe('/whep/cam%201/sessions/s1');

    await session.stop();
    expect(closed()).toBe(true);
    expect(seen[1]).toMatchObject({ method: 'DELETE', url: '/whep/cam%201/sessions/s1' });
    expect(seen[1]!.headers.authorization).toBe('Bearer lkt_secret');
  });

  it("rejects with the server's problem and Retry-After, and closes the peer", async () => {
    const { fetchFn } = await server((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '5' });
      res.end(JSON.stringify({ status: 503, code: 'DEVICE_OFFLINE', detail: 'camera cam1 is offline' }));
    });
    const { peer, closed } = weriftPeer();
    const error = await startWhep(peer, whepUrl('cam1'), {}, fetchFn).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WhepError);
    expect(error).toMatchObject({ status: 503, retryAfter: 5, message: 'camera cam1 is offline' });
    expect((error as WhepError).problem?.code).toBe('DEVICE_OFFLINE');
    expect(closed()).toBe(true);
  });

  it('says HTTP <status> for an error without a problem document, and closes the peer on a network error', async () => {
    const { fetchFn } = await server((_req, res) => {
      res.writeHead(502).end('bad gateway');
    });
    const first = weriftPeer();
    await expect(startWhep(first.peer, whepUrl('cam1'), {}, fetchFn)).rejects.toMatchObject({
      status: 502,
      retryAfter: 0,
      message: 'HTTP 502',
    });
    expect(first.closed()).toBe(true);

    const second = weriftPeer();
    const refused = () => Promise.reject(new TypeError('fetch failed'));
    await expect(startWhep(second.peer, whepUrl('cam1'), {}, refused)).rejects.toThrow('fetch failed');
    expect(second.closed()).toBe(true);
  });

  it('reads Retry-After only as a delay in seconds', () => {
    expect(retryAfterSeconds('7')).toBe(7);
    expect(retryAfterSeconds(' 12 ')).toBe(12);
    expect(retryAfterSeconds(null)).toBe(0);
    expect(retryAfterSeconds('Wed, 21 Oct 2026 07:28:00 GMT')).toBe(0);
    expect(retryAfterSeconds('-1')).toBe(0);
    expect(retryAfterSeconds('1e9')).toBe(0);
  });

  it('counts decoded video frames from the inbound video reports only', async () => {
    const reports = new Map<string, { type: string; kind?: string; framesDecoded?: number }>([
      ['a', { type: 'inbound-rtp', kind: 'video', framesDecoded: 30 }],
      ['b', { type: 'inbound-rtp', kind: 'audio' }],
      ['c', { type: 'outbound-rtp', kind: 'video', framesDecoded: 99 }],
      ['d', { type: 'inbound-rtp', kind: 'video' }],
    ]);
    expect(await framesDecoded({ getStats: async () => reports })).toBe(30);
  });
});
