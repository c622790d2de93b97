import { createWriteStream, rmSync } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LookoutError } from '../core/errors.js';
import type { Segment } from '../devices/index.js';
import { type ArchivePeers, nodeUnavailable, openPeer, peerSegmentPath } from './archive-peers.js';
import type { RemotePart } from './export-sources.js';

/** Segments fetched from other nodes at once, per export. */
const FETCHES_AT_ONCE = 2;
/** A fetch that receives nothing for this long has stalled. */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * Copies the segments other nodes hold into `fileFor(segment)`, at most two at a time, each bounded
 * to its `maxBytes`. Every file is pushed onto `created` before it is written, so the caller removes
 * it whatever happens. Resolves to the segments in order, each with `file` set; rejects with
 * NODE_UNAVAILABLE (a holder died meanwhile), EXPORT_FAILED (too many bytes), REQUEST_ABORTED.
 */
export async function fetchRemoteParts(
  peers: ArchivePeers,
  parts: readonly RemotePart[],
  fileFor: (segment: Segment) => string,
  created: string[],
  signal?: AbortSignal,
): Promise<Array<{ segment: Segment; file: string }>> {
  const results: Array<{ segment: Segment; file: string }> = new Array(parts.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < parts.length; i = next++) {
      if (signal?.aborted) throw new LookoutError('REQUEST_ABORTED', 'the export was abandoned');
      const part = parts[i]!;
      const file = fileFor(part.segment);
      created.push(file);
      await fetchOne(peers, part, file, signal);
      results[i] = { segment: part.segment, file };
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCHES_AT_ONCE, parts.length) }, worker));
  return results;
}

async function fetchOne(peers: ArchivePeers, part: RemotePart, file: string, signal?: AbortSignal) {
  const { segment, maxBytes } = part;
  const response = await openPeer(peers, segment, peerSegmentPath(segment.id), signal ? { signal } : {});
  if (response.statusCode !== 200) {
    response.destroy();
    throw nodeUnavailable(segment, `answered ${response.statusCode} to a whole-file request`);
  }
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (declared > maxBytes) {
    response.destroy();
    throw tooLarge(segment, maxBytes);
  }
  let received = 0;
  const bound = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done(received > maxBytes ? tooLarge(segment, maxBytes) : null, chunk);
    },
  });
  response.setTimeout(IDLE_TIMEOUT_MS, () => response.destroy(new Error('stalled')));
  try {
    await pipeline(response, bound, createWriteStream(file), signal ? { signal } : {});
  } catch (err) {
    rmSync(file, { force: true });
    if (err instanceof LookoutError) throw err;
    if (signal?.aborted) throw new LookoutError('REQUEST_ABORTED', 'the export was abandoned');
    throw nodeUnavailable(segment, `stopped sending it (${(err as Error).message})`);
  }
  if (Number.isFinite(declared) && received !== declared) {
    throw nodeUnavailable(segment, `sent ${received} of ${declared} bytes`);
  }
}

function tooLarge(segment: Segment, maxBytes: number): LookoutError {
  return new LookoutError(
    'EXPORT_FAILED',
    `node '${segment.node}' sent more than the ${maxBytes} bytes segment ${segment.id} may have`,
  );
}
