#!/usr/bin/env node
// Only command definitions here: each command imports what it needs when it runs (cli/context.ts).
import { Command, CommanderError } from 'commander';
import { agentCommand } from './commands/agent.js';
import { clusterCommand } from './commands/cluster.js';
import { dbCommand } from './commands/db.js';
import { deviceCommand } from './commands/device.js';
import { recordingsCommand } from './commands/recordings.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { userCommand } from './commands/user.js';
import { resolveConfig } from './context.js';
import { describeFailure, verboseRequested } from './errors.js';
import { lookoutVersion } from './version.js';

const program = new Command('lookout')
  .description('Lookout: a self-hosted backend for IoT cameras (MQTT signaling, WebRTC live view, recording)')
  .version(lookoutVersion(), '-V, --version')
  .showHelpAfterError('(add --help for usage)')
  .addCommand(serveCommand())
  .addCommand(deviceCommand())
  .addCommand(recordingsCommand())
  .addCommand(userCommand())
  .addCommand(tokenCommand())
  .addCommand(agentCommand())
  .addCommand(clusterCommand())
  .addCommand(dbCommand())
  .addHelpText(
    'after',
    `
Examples:
  lookout serve                         run the server on the defaults (./data, HTTP 8080, MQTT 1883)
  lookout device add front-door         register a camera, write front-door.json to flash onto it
  lookout device update front-door --record continuous   record it around the clock
  lookout recordings pull front-door --from -10m -o clip.mp4   save the last ten minutes
  lookout token create --name laptop    create an API token for the web app and scripts
  lookout agent --config front-door.json   stream a test pattern as camera front-door
  lookout cluster status                list the nodes of a cluster and their cameras
  lookout db export registry.ndjson     the registry in one file (to move it to PostgreSQL: db import)

Every command takes --help.`,
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const failure = describeFailure(err, verboseRequested(process.argv) || (await debugConfigured()));
  process.stderr.write(failure.text);
  process.exit(failure.exitCode);
}

/** `log.level` debug or trace from the environment or the config file (an invalid config counts as no). */
async function debugConfigured(): Promise<boolean> {
  try {
    const level = (await resolveConfig({})).log.level;
    return level === 'debug' || level === 'trace';
  } catch {
    return false;
  }
}
