import { networkInterfaces } from 'node:os';
import type { WhepRouting } from '../api/index.js';
import type { BrokerCluster } from '../broker/cluster-engines.js';
import type { ClusterNode, NodeInfo, PlacedRecordings } from '../cluster/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../core/log.js';
import type { MediaNode } from '../media/index.js';
import type { ArchivePeers } from '../recordings/index.js';
import { NodeLoadSampler } from './node-load.js';

/** This server as one node of a cluster (docs/cluster.md). */
export interface ServerCluster {
  readonly node: ClusterNode;
  /** What the broker needs to run on every node (aedes's Redis engines, shared presence). */
  readonly broker: BrokerCluster;
  /** The TURN REST secret every node shares (`turn.secret` when set, else one kept in Redis). */
  readonly turnSecret: string | undefined;
  /** The other nodes, for reading the recordings they hold (D40). */
  readonly archivePeers: ArchivePeers;
  /** Once the listeners are up: where the node is reached, and what its load is read from. */
  serving(what: {
    /** Bound ports (a configured 0 is whatever the OS chose). */
    ports: { http: number; mqtt: number; turn: number };
    media: MediaNode;
    recordings: () => number;
    inProcessMedia: boolean;
  }): void;
  /**
   * Camera placement on this node (D39): who runs each camera's media and recorder, and where
   * its viewers go. Closed by the caller, before the media node and the recordings.
   */
  place(what: { media: MediaNode; recordings: PlacedRecordings; lingerMs: number }): {
    routing: WhepRouting;
    close(): Promise<void>;
  };
  close(): Promise<void>;
}

/**
 * Joins the cluster named by `cluster.redisUrl`, loading cluster/, ioredis and aedes's Redis
 * engines only then. Called before the broker (which runs on the engines) and closed after it.
 */
export async function joinClusterIfConfigured(
  config: Readonly<Config>,
  log: Logger,
  version: string,
): Promise<ServerCluster | undefined> {
  const { redisUrl } = config.cluster;
  if (!redisUrl) return undefined;
  const { CameraPlacement, joinCluster, sharedSecret } = await import('../cluster/index.js');
  const { clusterArchivePeers } = await import('./archive-peers.js');
  const { clusterEngines } = await import('../broker/cluster-engines.js');
  const { ClusterPresenceStore } = await import('../broker/cluster-presence.js');
  const { publicBrokerUrls, publicHttpUrl, publicTurnUrls } = await import('../edge-config/public-urls.js');
  const clusterLog = log.child({ component: 'cluster' });
  let addresses: Pick<NodeInfo, 'http' | 'mqtt' | 'turn' | 'media'> = { http: '', mqtt: '', turn: [] };
  let sampler: NodeLoadSampler | undefined;
  const idle = { cameras: 0, viewers: 0, recordings: 0, cpu: 0 };
  const node = await joinCluster(
    { ...config.cluster, redisUrl },
    { log, version, addresses: () => addresses, load: () => sampler?.current() ?? idle },
  );
  let turnSecret: string | undefined;
  let ticketSecret: string;
  let archivePeers: ArchivePeers;
  try {
    turnSecret =
      config.turn.mode === 'off'
        ? undefined
        : (config.turn.secret ?? (await sharedSecret(node.redis, `${config.cluster.keyPrefix}:turn-secret`)));
    // Signs the tickets that carry a viewer's authorization to the node holding its camera.
    ticketSecret = await sharedSecret(node.redis, `${config.cluster.keyPrefix}:whep-ticket-secret`);
    archivePeers = clusterArchivePeers(
      node,
      await sharedSecret(node.redis, `${config.cluster.keyPrefix}:node-secret`, 'NODE_SECRET_INVALID'),
    );
  } catch (err) {
    await node.close();
    throw err;
  }
  const engines = clusterEngines(redisUrl, log.child({ component: 'broker' }));
  const broker: BrokerCluster = {
    nodeId: node.id,
    heartbeatMs: config.cluster.heartbeatMs,
    mq: engines.mq,
    persistence: engines.persistence,
    presence: new ClusterPresenceStore(node.redis, `${config.cluster.keyPrefix}:presence`, node.id),
    liveNodes: async () => new Set((await node.nodes.list()).map((n) => n.id)),
    close: engines.close,
  };
  return {
    node,
    broker,
    turnSecret,
    archivePeers,
    serving({ ports, media, recordings, inProcessMedia }) {
      addresses = {
        http: config.cluster.publicHttpUrl ?? publicHttpUrl(config.http, ports.http),
        mqtt: publicBrokerUrls({ ...config.mqtt, port: ports.mqtt }, { ...config.http, port: ports.http })
          .url,
        turn: publicTurnUrls({ ...config.turn, port: ports.turn }, config.mqtt),
        media: mediaAddresses(config.media.iceHostAddresses),
      };
      sampler = new NodeLoadSampler(
        media,
        recordings,
        inProcessMedia,
        config.cluster.heartbeatMs,
        clusterLog,
      );
      void sampler.sample();
      void node.nodes.heartbeat().catch(() => {}); // publish the addresses now, not at the next tick
    },
    place({ media, recordings, lingerMs }) {
      const placement = new CameraPlacement({
        leases: node.leases,
        nodes: () => node.nodes.list(),
        selfId: node.id,
        media,
        recordings,
        lingerMs,
        intervalMs: config.cluster.heartbeatMs,
        log: clusterLog.child({ part: 'placement' }),
      });
      void placement.tick();
      const routing: WhepRouting = {
        nodeId: node.id,
        ticketSecret,
        selfUrl: () => addresses.http,
        route: async (camera) => {
          const place = await placement.routeViewer(camera);
          // Redis is shared: only an http(s) URL is ever put in a redirect.
          if (place.at === 'node' && /^https?:\/\/[^\s]+$/i.test(place.http))
            return { at: 'node', node: place.node, baseUrl: place.http };
          return place.at === 'here' ? { at: 'here' } : { at: 'unavailable' };
        },
      };
      return { routing, close: () => placement.close() };
    },
    async close() {
      await sampler?.close();
      await broker.close();
      await node.close();
    },
  };
}

/**
 * Where this node's media is reached: the host addresses its ICE candidates carry (its own
 * non-loopback IPv4 and IPv6 addresses, as werift gathers them) and `media.iceHostAddresses`.
 */
function mediaAddresses(configured: readonly string[]): string[] {
  const own = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
    .map((a) => a!.address);
  return [...new Set([...configured, ...own])].slice(0, 16);
}
