import { hostname } from 'node:os';
import type { ClusterConfig } from './schema.js';

/**
 * This node's id: `cluster.nodeId`, else the host name (cut to the allowed characters). A single
 * host has one too: the recordings index names it as the holder of its files (D40).
 */
export function nodeIdOf(config: Pick<ClusterConfig, 'nodeId'>): string {
  return (
    config.nodeId ??
    (hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 64) ||
      'lookout')
  );
}
