/**
 * agent/: the reference camera agent. Reads a flashed edge config, connects to the broker,
 * answers offers and streams a source (test pattern, RTSP camera, V4L2 device) through ffmpeg.
 * It is both the simulator in Lookout's tests and what users run in front of real cameras.
 */
import type { Logger } from '../core/log.js';
import type { EdgeConfig } from '../edge-config/index.js';
import { ffmpegPath } from '../media/ffmpeg-path.js';
import { type AgentOptions, CameraAgent } from './agent.js';
import { parseSource, type RtspTransport } from './ffmpeg-args.js';
import { RtpSource } from './rtp-source.js';

export type { CameraAgent } from './agent.js';
export { parseSource, type RtspTransport } from './ffmpeg-args.js';

/** Starts an agent; it reconnects forever until close(). Throws FFMPEG_NOT_FOUND or on a bad source. */
export async function startAgent(
  config: EdgeConfig,
  options: Partial<AgentOptions> & { source: string; rtspTransport?: RtspTransport },
  log: Logger,
): Promise<CameraAgent> {
  const spec = parseSource(options.source, options.rtspTransport);
  ffmpegPath(); // fail now, clearly, rather than at the first offer
  const source = await RtpSource.open(spec, config.stream, log.child({ part: 'source' }));
  const agent = new CameraAgent(
    config,
    source,
    {
      additionalHostAddresses: options.additionalHostAddresses ?? [],
      // The edge config's ice.forceRelay or the --force-relay flag: either one forces relay.
      forceRelay: (options.forceRelay ?? false) || (config.ice?.forceRelay ?? false),
      agentName: options.agentName ?? 'lookout-agent',
    },
    log,
  );
  agent.start();
  return agent;
}
