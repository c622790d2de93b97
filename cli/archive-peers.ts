import type { ClusterNode } from '../cluster/index.js';
import { signNodeRequest, verifyNodeRequest } from '../core/node-signature.js';
import type { ArchivePeers } from '../recordings/index.js';

/**
 * The archive's view of the other nodes (D40): their HTTP address from their entry in Redis
 * (`cluster.publicHttpUrl`), and requests between nodes signed with the secret every node of the
 * cluster shares (`<prefix>:node-secret`).
 */
export function clusterArchivePeers(
  node: ClusterNode,
  secret: string,
  now: () => number = Date.now,
): ArchivePeers {
  return {
    async nodeUrl(id) {
      const info = await node.nodes.get(id);
      return info?.http ? info.http : undefined;
    },
    sign: (method, target) => signNodeRequest({ secret, node: node.id, method, target, now: now() }),
    verify: (method, target, header) => verifyNodeRequest({ secret, header, method, target, now: now() }),
  };
}
