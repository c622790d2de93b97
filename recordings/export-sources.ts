import { LookoutError } from '../core/errors.js';
import type { Segment } from '../devices/index.js';

/** A segment another node holds, fetched before the export, with the most bytes accepted for it. */
export interface RemotePart {
  segment: Segment;
  /** The holder's base URL. */
  url: string;
  maxBytes: number;
}

export interface ExportSources {
  /** Segments on this node's disk. */
  local: Segment[];
  /** Segments fetched from the live nodes holding them, oldest first. */
  remote: RemotePart[];
  /** Nodes holding part of the range that are not in the cluster now (their segments are left out). */
  unavailable: string[];
}

export interface SourceLimits {
  /** Bytes accepted for one segment still being written elsewhere (its size in the index is not final). */
  maxWritingBytes: number;
  /** Bytes fetched from other nodes for one export, all segments together. */
  maxRemoteBytes: number;
}

/** Bytes a finished segment may exceed its indexed size by: none is expected. */
const SLACK_BYTES = 64 * 1024;

/**
 * Where each segment of an export comes from (D40): this node's disk, or the live node holding it;
 * a node that is not live leaves its segments out and is named in `unavailable`. `nodeUrls` maps
 * every other node holding a segment to its URL, undefined when it is not in the cluster. Throws
 * NODE_UNAVAILABLE when no segment of the range can be had, EXPORT_TOO_LARGE when what must be
 * fetched exceeds the bound. Segments that cannot play (missing, empty) are dropped here. Pure.
 */
export function planSources(
  segments: readonly Segment[],
  self: string,
  nodeUrls: ReadonlyMap<string, string | undefined>,
  limits: SourceLimits,
): ExportSources {
  const sources: ExportSources = { local: [], remote: [], unavailable: [] };
  const unavailable = new Set<string>();
  let remoteBytes = 0;
  const usable = segments
    .filter((s) => s.state === 'writing' || (s.state === 'complete' && (s.durationMs ?? 0) > 0))
    .sort((a, b) => a.startMs - b.startMs || a.id - b.id);
  for (const segment of usable) {
    if (segment.node === self) {
      sources.local.push(segment);
      continue;
    }
    const url = nodeUrls.get(segment.node);
    if (!url) {
      unavailable.add(segment.node);
      continue;
    }
    const maxBytes = segment.state === 'writing' ? limits.maxWritingBytes : segment.bytes + SLACK_BYTES;
    remoteBytes += maxBytes;
    if (remoteBytes > limits.maxRemoteBytes) {
      throw new LookoutError(
        'EXPORT_TOO_LARGE',
        `the range needs more than ${Math.round(limits.maxRemoteBytes / 1_048_576)} MiB from other nodes; export a shorter range`,
      );
    }
    sources.remote.push({ segment, url, maxBytes });
  }
  sources.unavailable = [...unavailable].sort();
  if (sources.local.length === 0 && sources.remote.length === 0 && unavailable.size > 0) {
    throw new LookoutError(
      'NODE_UNAVAILABLE',
      `the recordings of this range are on ${sources.unavailable.map((n) => `'${n || '(unknown)'}'`).join(', ')}, not reachable from here (not in the cluster now; the CLI reaches other nodes only with --server); try again when it is back`,
      { nodes: sources.unavailable },
    );
  }
  return sources;
}
