import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../../config/index.js';
import { LookoutError } from '../../core/errors.js';
import type { Device, IssuedCredentials, RecordMode } from '../../devices/index.js';
import type { EdgeConfig } from '../../edge-config/index.js';
import { addCommonOptions, type CommonOptions, withRegistry } from '../context.js';
import { ago, printJson, printLine, printTable } from '../format.js';

/**
 * devices' RECORD_MODES, spelled out so that defining the commands does not load SQLite;
 * the compiler checks that the two name the same modes.
 */
const RECORD_MODES = ['off', 'continuous', 'on-demand'] as const satisfies readonly RecordMode[];
type Unlisted = Exclude<RecordMode, (typeof RECORD_MODES)[number]>;
const everyModeListed: [Unlisted] extends [never] ? true : never = true;
void everyModeListed;

/** The JSON form of a device, loaded with the registry (devices/), never with the HTTP server. */
async function deviceJsonOf(device: Device) {
  const { deviceJson } = await import('../../devices/index.js');
  return deviceJson(device);
}

interface IssueOptions extends CommonOptions {
  out?: string;
  json?: boolean;
  force?: boolean;
}

export function deviceCommand(): Command {
  const device = new Command('device').description('register cameras and manage their credentials');

  addCommonOptions(
    device
      .command('add')
      .description('register a device and write the edge config (credentials) to flash onto it')
      .argument('<id>', 'device id: a-z, 0-9 and -, e.g. front-door')
      .option('-n, --name <name>', 'display name (default: the id)')
      .option('-o, --out <file>', 'where to write the edge config (default: <id>.json)')
      .option(
        '--json',
        'print the edge config as JSON on stdout instead of writing a file (unless --out is given)',
      )
      .option('-f, --force', 'overwrite an existing output file'),
  ).action(async (id: string, options: IssueOptions & { name?: string }) => {
    const out = outputFile(id, options);
    if (out && existsSync(out) && !options.force) {
      throw new LookoutError('OUTPUT_EXISTS', `${out} already exists; choose another --out or pass --force`, {
        file: out,
      });
    }
    await withRegistry(
      options,
      async (registry, config) =>
        deliver(await registry.devices.add(id, options.name), config, out, options, 'Registered'),
      'create',
    );
  });

  addCommonOptions(
    device.command('list').description('list devices with their online state').option('--json', 'print JSON'),
  ).action(async (options: CommonOptions & { json?: boolean }) => {
    await withRegistry(options, async (registry) => {
      const devices = await registry.devices.list();
      if (options.json) return printJson({ devices: await Promise.all(devices.map(deviceJsonOf)) });
      if (devices.length === 0) return printLine('No devices yet. Add one with: lookout device add <id>');
      printTable(
        ['ID', 'NAME', 'STATE', 'LAST SEEN', 'RECORDING'],
        devices.map((d) => [d.id, d.name, stateOf(d), d.online ? 'now' : ago(d.lastSeenAt), recordingOf(d)]),
      );
    });
  });

  addCommonOptions(
    device
      .command('show')
      .description('show one device')
      .argument('<id>', 'device id')
      .option('--json', 'print JSON'),
  ).action(async (id: string, options: CommonOptions & { json?: boolean }) => {
    await withRegistry(options, async (registry) => {
      const d = await registry.devices.require(id);
      if (options.json) return printJson(await deviceJsonOf(d));
      printTable(
        ['FIELD', 'VALUE'],
        [
          ['id', d.id],
          ['name', d.name],
          ['state', stateOf(d)],
          ['last seen', d.online ? 'now' : ago(d.lastSeenAt)],
          ['created', new Date(d.createdAt).toISOString()],
          ['secret generation', String(d.secretGeneration)],
          ['recording', recordingOf(d)],
        ],
      );
    });
  });

  addCommonOptions(
    device
      .command('update')
      .description('change a device: its name, recording policy or recording retention')
      .argument('<id>', 'device id')
      .option('-n, --name <name>', 'new display name')
      .addOption(
        new Option(
          '--record <mode>',
          'recording: continuous, off, or on-demand (lookout recordings start/stop)',
        ).choices(RECORD_MODES),
      )
      .option(
        '--retention <hours>',
        "keep this device's recordings this many hours ('default': recording.maxAgeHours)",
      )
      .option('--json', 'print the device as JSON'),
  ).action(
    async (
      id: string,
      options: CommonOptions & { name?: string; record?: RecordMode; retention?: string; json?: boolean },
    ) => {
      if (options.name === undefined && options.record === undefined && options.retention === undefined) {
        throw new LookoutError('NOTHING_TO_UPDATE', 'give at least one of --name, --record, --retention');
      }
      const maxAgeHours = parseRetention(options.retention);
      await withRegistry(options, async (registry) => {
        if (options.name !== undefined) await registry.devices.rename(id, options.name);
        let d = await registry.devices.require(id);
        if (options.record !== undefined || maxAgeHours !== undefined) {
          d = await registry.devices.setRecording(id, {
            ...(options.record !== undefined ? { mode: options.record } : {}),
            ...(maxAgeHours !== undefined ? { maxAgeHours } : {}),
          });
        }
        if (options.json) return printJson(await deviceJsonOf(d));
        printLine(`Updated ${d.id}: name '${d.name}', recording ${recordingOf(d)}.`);
        if (d.recording.mode === 'continuous') {
          printLine(
            `  A running server starts recording within a second; see: lookout recordings list ${d.id}`,
          );
        }
      });
    },
  );

  addCommonOptions(
    device
      .command('rotate')
      .description(
        'issue a new secret; the old one stops working and a connected device is disconnected within a second',
      )
      .argument('<id>', 'device id')
      .option('-o, --out <file>', 'where to write the new edge config (default: <id>.json, overwritten)')
      .option(
        '--json',
        'print the new edge config as JSON on stdout instead of writing a file (unless --out is given)',
      ),
  ).action(async (id: string, options: IssueOptions) => {
    const out = outputFile(id, options);
    await withRegistry(options, async (registry, config) =>
      deliver(await registry.devices.rotate(id), config, out, options, 'Rotated the secret of'),
    );
  });

  addCommonOptions(
    device
      .command('revoke')
      .description('refuse the device from now on; a connected device is disconnected within a second')
      .argument('<id>', 'device id'),
  ).action(async (id: string, options: CommonOptions) => {
    await withRegistry(options, async (registry) => {
      await registry.devices.revoke(id);
      printLine(
        `Revoked ${id}. It can no longer connect; 'lookout device rotate ${id}' reinstates it with a new secret.`,
      );
    });
  });

  addCommonOptions(
    device
      .command('rename')
      .description("change a device's display name")
      .argument('<id>', 'device id')
      .argument('<name>', 'new display name')
      .option('--json', 'print the device as JSON'),
  ).action(async (id: string, name: string, options: CommonOptions & { json?: boolean }) => {
    await withRegistry(options, async (registry) => {
      const d = await registry.devices.rename(id, name);
      if (options.json) return printJson(await deviceJsonOf(d));
      printLine(`Renamed ${d.id} to '${d.name}'.`);
    });
  });

  addCommonOptions(
    device
      .command('delete')
      .description(
        'delete a device: it can no longer connect (a connected one is disconnected within a second) and its id may be added again; its recordings are deleted too unless --keep-recordings',
      )
      .argument('<id>', 'device id')
      .option(
        '--keep-recordings',
        'keep its recordings: they stay listable and downloadable under the id until retention removes them',
      )
      .option('--json', 'print what was deleted as JSON'),
  ).action(async (id: string, options: CommonOptions & { keepRecordings?: boolean; json?: boolean }) => {
    await withRegistry(options, async (registry, config) => {
      const keep = options.keepRecordings === true;
      const deleted = await registry.devices.delete(id, { recordings: keep ? 'keep' : 'delete' });
      let bytes = 0;
      if (!keep) {
        const { recordingsDir } = await import('../../recordings/index.js');
        const dir = recordingsDir(config);
        for (const segment of deleted.segments) {
          rmSync(path.join(dir, segment.path), { force: true });
          bytes += segment.bytes;
        }
        // A running server stops the recorder on the device event; what it was writing is removed with the directory.
        rmSync(path.join(dir, id), { recursive: true, force: true });
      }
      if (options.json) {
        return printJson({
          device: await deviceJsonOf(deleted.device),
          recordings: keep ? 'keep' : 'delete',
          deletedSegments: deleted.segments.length,
        });
      }
      printLine(
        keep
          ? `Deleted ${id}; its recordings are kept until retention removes them.`
          : `Deleted ${id} and its ${deleted.segments.length} recordings (${(bytes / 1_048_576).toFixed(1)} MB).`,
      );
      printLine(`  Its id is free again: lookout device add ${id} issues a new secret.`);
    });
  });

  return device;
}

function outputFile(id: string, options: IssueOptions): string | undefined {
  if (options.out) return path.resolve(options.out);
  return options.json ? undefined : path.resolve(`${id}.json`);
}

async function deliver(
  issued: IssuedCredentials,
  config: Readonly<Config>,
  out: string | undefined,
  options: IssueOptions,
  verb: string,
): Promise<void> {
  const { publicBrokerUrls, renderEdgeConfig } = await import('../../edge-config/index.js');
  const urls = publicBrokerUrls(config.mqtt, config.http);
  const edge: EdgeConfig = renderEdgeConfig({
    deviceId: issued.device.id,
    name: issued.device.name,
    secret: issued.secret,
    mqttUrl: urls.url,
    fallbackUrls: config.mqtt.fallbackUrls,
    wsUrl: urls.wsUrl,
    topicPrefix: config.mqtt.topicPrefix,
  });
  if (out) {
    writeFileSync(out, `${JSON.stringify(edge, null, 2)}\n`, { mode: 0o600 });
    chmodSync(out, 0o600);
  }
  if (options.json) {
    printJson(edge);
    return;
  }
  printLine(`${verb} device '${issued.device.id}'.`);
  printLine(`Edge config written to ${out}`);
  printLine('  It holds the device secret, shown nowhere else: flash it onto the camera and keep it safe.');
  printLine(`  Broker: ${urls.url}  (username ${edge.mqtt.username}, client id ${edge.mqtt.clientId})`);
  if (urls.guessed) {
    printLine(
      '  The broker address was guessed from this machine; set mqtt.publicUrl if cameras reach it by another name.',
    );
  }
}

function parseRetention(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'default') return null;
  const hours = Number(text);
  if (!Number.isInteger(hours) || hours < 1 || hours > 87_600) {
    throw new LookoutError(
      'RETENTION_INVALID',
      `--retention takes 1-87600 hours or 'default', not '${text}'`,
    );
  }
  return hours;
}

/** "continuous", "on-demand (recording)", "off"; plus a retention override. */
export function recordingOf(device: Device): string {
  const { mode, active, maxAgeHours } = device.recording;
  const state = mode === 'on-demand' ? `on-demand (${active ? 'recording' : 'idle'})` : mode;
  return maxAgeHours === null ? state : `${state}, keep ${maxAgeHours} h`;
}

function stateOf(device: Device): string {
  if (device.revokedAt !== null) return 'revoked';
  return device.online ? 'online' : 'offline';
}
