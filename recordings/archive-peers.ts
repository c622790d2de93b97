import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { LookoutError } from '../core/errors.js';
import { NODE_AUTH_HEADER, type NodeVerdict } from '../core/node-signature.js';
import type { Segment } from '../devices/index.js';

/**
 * The other nodes of a cluster as the archive needs them (D40): where a node is reached, and the
 * signed header that lets this node read another's files. A single host has none.
 */
export interface ArchivePeers {
  /** The base URL (`http(s)://host:port`) of a live node; undefined when it is not in the cluster's registry. */
  nodeUrl(node: string): Promise<string | undefined>;
  /** The node-auth header value for a request of this node (method, path and query as sent). */
  sign(method: string, target: string): string;
  /** Checks the node-auth header of a request another node made to this one. */
  verify(method: string, target: string, header: string | string[] | undefined): NodeVerdict;
}

/** The internal routes a node serves its own segments on, to other nodes only. */
export const PEER_SEGMENT_PREFIX = '/internal/archive/segments';
export const peerSegmentPath = (id: number) => `${PEER_SEGMENT_PREFIX}/${id}.mp4`;
export const peerThumbnailPath = (id: number) => `${PEER_SEGMENT_PREFIX}/${id}/thumbnail.jpg`;

/** Headers received before this, or the node is taken as unavailable. */
const HEADERS_TIMEOUT_MS = 10_000;
/** Body bytes read of an error answer (a problem document). */
const MAX_PROBLEM_BYTES = 16_384;

/** NODE_UNAVAILABLE (503): the node holding a segment is not in the cluster or does not answer. */
export function nodeUnavailable(segment: Pick<Segment, 'id' | 'node'>, why: string): LookoutError {
  return new LookoutError(
    'NODE_UNAVAILABLE',
    `segment ${segment.id} is on node '${segment.node || '(unknown)'}', which ${why}; try again when it is back`,
    { node: segment.node, segment: segment.id },
  );
}

/**
 * Opens `target` on the node holding `segment`: resolves to the response once its headers are in
 * (200, 206 or 416), with its body not read yet; the caller consumes or destroys it. Rejects with
 * NODE_UNAVAILABLE when the node is not live, cannot be reached or answers 5xx, and with the holder's
 * own code (SEGMENT_NOT_FOUND, SEGMENT_WRITING...) when it refuses the request.
 */
export async function openPeer(
  peers: ArchivePeers,
  segment: Pick<Segment, 'id' | 'node'>,
  target: string,
  options: { range?: string; signal?: AbortSignal } = {},
): Promise<IncomingMessage> {
  const base = segment.node ? await peers.nodeUrl(segment.node) : undefined;
  if (!base) throw nodeUnavailable(segment, 'is not in the cluster (stopped, or gone)');
  const url = new URL(target, base);
  const headers: Record<string, string> = { [NODE_AUTH_HEADER]: peers.sign('GET', target) };
  if (options.range) headers.range = options.range;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const timer = setTimeout(
      () => request.destroy(new Error(`no answer within ${HEADERS_TIMEOUT_MS} ms`)),
      HEADERS_TIMEOUT_MS,
    );
    request.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    request.once('error', (err) => {
      clearTimeout(timer);
      reject(
        options.signal?.aborted
          ? new LookoutError('REQUEST_ABORTED', 'the request was abandoned')
          : nodeUnavailable(segment, `does not answer (${err.message})`),
      );
    });
    request.end();
  });
  const status = response.statusCode ?? 0;
  // 416: a range outside the file, which the caller passes on like the holder's 206.
  if (status === 200 || status === 206 || status === 416) return response;
  const code = await problemCode(response);
  if (status >= 500 || !code) throw nodeUnavailable(segment, `answered ${status}${code ? ` (${code})` : ''}`);
  throw new LookoutError(code, `node '${segment.node}' refused segment ${segment.id} (${status} ${code})`);
}

/** The `code` of a problem document answer, read with a bound; undefined when there is none. */
async function problemCode(response: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_PROBLEM_BYTES) {
        response.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
    const code = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: unknown }).code;
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
