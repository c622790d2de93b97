#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { LookoutError } from '../core/errors.js';
import { agentCommand } from './commands/agent.js';
import { deviceCommand } from './commands/device.js';
import { recordingsCommand } from './commands/recordings.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { lookoutVersion } from './version.js';

const program = new Command('lookout')
  .description('Lookout: a self-hosted backend for IoT cameras (MQTT signaling, WebRTC live view, recording)')
  .version(lookoutVersion(), '-V, --version')
  .showHelpAfterError('(add --help for usage)')
  .addCommand(serveCommand())
  .addCommand(deviceCommand())
  .addCommand(recordingsCommand())
  .addCommand(tokenCommand())
  .addCommand(agentCommand())
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

Every command takes --help.`,
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof LookoutError) {
    process.stderr.write(`lookout: ${err.message} [${err.code}]\n`);
    process.exit(err.code === 'CONFIG_INVALID' ? 2 : 1);
  }
  process.stderr.write(`lookout: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
