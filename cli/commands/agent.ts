import { Command, Option } from 'commander';
import { lookoutVersion } from '../version.js';

interface AgentCliOptions {
  config: string;
  source: string;
  rtspTransport: 'tcp' | 'udp' | 'auto';
  iceHostAddress: string[];
  forceRelay?: boolean;
  logLevel: string;
  logFormat: 'auto' | 'json' | 'pretty';
}

export function agentCommand(): Command {
  return new Command('agent')
    .description('run the reference camera agent: connect with a flashed edge config and stream on demand')
    .requiredOption('-c, --config <file>', 'edge config written by `lookout device add`')
    .option(
      '-s, --source <source>',
      'test (generated pattern with a clock), rtsp://host/path, or /dev/videoN',
      'test',
    )
    .addOption(
      new Option(
        '--rtsp-transport <transport>',
        'for rtsp:// sources: RTP over TCP, UDP, or auto (UDP, then TCP)',
      )
        .choices(['tcp', 'udp', 'auto'])
        .default('tcp'),
    )
    .option(
      '--ice-host-address <ip>',
      'extra ICE host address to advertise (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option(
      '--force-relay',
      'use only TURN relay candidates (testing, networks that block UDP); the edge config can also ask (ice.forceRelay)',
    )
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace', 'info')
    .option('--log-format <format>', 'auto|json|pretty', 'auto')
    .action(async (options: AgentCliOptions) => {
      const [{ startAgent }, { createLogger }, { loadEdgeConfig }] = await Promise.all([
        import('../../agent/index.js'),
        import('../../core/log.js'),
        import('../../edge-config/index.js'),
      ]);
      const log = createLogger({ level: options.logLevel, format: options.logFormat }).child({
        component: 'agent',
      });
      const config = loadEdgeConfig(options.config);
      const agent = await startAgent(
        config,
        {
          source: options.source,
          rtspTransport: options.rtspTransport,
          additionalHostAddresses: options.iceHostAddress,
          forceRelay: options.forceRelay ?? false,
          agentName: `lookout-agent/${lookoutVersion()}`,
        },
        log.child({ device: config.deviceId }),
      );
      log.info(
        {
          device: config.deviceId,
          broker: config.mqtt.url,
          source: options.source,
          forceRelay: (options.forceRelay ?? false) || (config.ice?.forceRelay ?? false),
        },
        'agent started',
      );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        log.info({ signal }, 'stopping');
        const deadline = setTimeout(() => process.exit(1), 5000);
        agent.close().then(() => {
          clearTimeout(deadline);
          setTimeout(() => process.exit(0), 1000).unref();
        });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
