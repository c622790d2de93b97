import { Command } from 'commander';
import { LookoutError } from '../../core/errors.js';
import { addCommonOptions, type CommonOptions, resolveConfig } from '../context.js';
import { ago, printJson, printLine, printTable } from '../format.js';

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description(
    'the nodes of a cluster (docs/cluster.md); needs cluster.redisUrl',
  );

  addCommonOptions(
    cluster
      .command('status')
      .description('list the live nodes with their load and addresses, and which node holds each camera')
      .option('--json', 'print JSON'),
  ).action(async (options: CommonOptions & { json?: boolean }) => {
    const config = await resolveConfig(options);
    const { redisUrl, keyPrefix } = config.cluster;
    if (!redisUrl) {
      throw new LookoutError(
        'CLUSTER_NOT_CONFIGURED',
        'this is a single-host set-up: cluster.redisUrl (LOOKOUT_CLUSTER_REDIS_URL) is not set',
      );
    }
    const { clusterKeys, connectRedis, listLeases, listNodes } = await import('../../cluster/index.js');
    const { createLogger } = await import('../../core/log.js');
    const log = createLogger({ level: 'error', format: 'auto' });
    const redis = await connectRedis(redisUrl, log, { name: 'lookout-cli' });
    try {
      const keys = clusterKeys(keyPrefix);
      const [nodes, leases] = await Promise.all([listNodes(redis, keys), listLeases(redis, keys)]);
      const camerasOf = (id: string) => leases.filter((l) => l.holder === id).map((l) => l.cameraId);
      if (options.json) {
        return printJson({ nodes: nodes.map((n) => ({ ...n, leasedCameras: camerasOf(n.id) })), leases });
      }
      if (nodes.length === 0) {
        printLine(`no live nodes under key prefix '${keyPrefix}'`);
        return;
      }
      printTable(
        [
          'NODE',
          'HEARTBEAT',
          'CAMERAS',
          'VIEWERS',
          'RECORDING',
          'CPU',
          'HTTP',
          'MQTT',
          'MEDIA',
          'LEASED CAMERAS',
        ],
        nodes.map((n) => [
          n.id,
          ago(n.heartbeatAt),
          String(n.load.cameras),
          String(n.load.viewers),
          String(n.load.recordings),
          `${(n.load.cpu * 100).toFixed(0)}%`,
          n.http,
          n.mqtt,
          n.media?.join(',') || '-',
          camerasOf(n.id).join(',') || '-',
        ]),
      );
      const orphans = leases.filter((l) => !nodes.some((n) => n.id === l.holder));
      if (orphans.length > 0) {
        printLine(
          `\n${orphans.length} camera lease(s) held by nodes no longer alive (they expire by themselves).`,
        );
      }
    } finally {
      redis.disconnect();
    }
  });
  return cluster;
}
