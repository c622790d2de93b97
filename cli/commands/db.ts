import { Command } from 'commander';
import { LookoutError } from '../../core/errors.js';
import { addCommonOptions, type CommonOptions, withRegistry } from '../context.js';
import { printLine } from '../format.js';

/** Progress on stderr at most once a second, and once at the end. */
function progress(verb: string): { tick(count: number): void; done(count: number): void } {
  let last = Date.now();
  return {
    tick(count) {
      const now = Date.now();
      if (now - last < 1000) return;
      last = now;
      process.stderr.write(`${verb} ${count} rows...\n`);
    },
    done(count) {
      process.stderr.write(`${verb} ${count} rows.\n`);
    },
  };
}

export function dbCommand(): Command {
  const db = new Command('db').description(
    'the registry database: migrations, and export/import (moving a single host to PostgreSQL)',
  );

  addCommonOptions(
    db
      .command('migrate')
      .description(
        'apply the registry schema migrations (SQLite in the data directory, or cluster.postgresUrl); lookout serve also does it at start',
      ),
  ).action(async (options: CommonOptions) => {
    await withRegistry(
      options,
      (registry) => {
        printLine(
          `The ${registry.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'} registry is at the schema this Lookout knows.`,
        );
      },
      'create',
    );
  });

  addCommonOptions(
    db
      .command('export')
      .description(
        'write the whole registry (devices with their secret hashes, tokens, recording policies, the recordings index) to an NDJSON file',
      )
      .argument('<file>', 'the file to write')
      .option('-f, --force', 'overwrite an existing file'),
  ).action(async (file: string, options: CommonOptions & { force?: boolean }) => {
    const { existsSync, createWriteStream, renameSync, rmSync } = await import('node:fs');
    const { finished } = await import('node:stream/promises');
    const { headerLine, rowLine, trailerLine } = await import('../../devices/transfer-file.js');
    if (existsSync(file) && !options.force) {
      throw new LookoutError('OUTPUT_EXISTS', `${file} already exists; choose another file or pass --force`, {
        file,
      });
    }
    await withRegistry(options, async (registry) => {
      const partial = `${file}.partial`;
      const out = createWriteStream(partial, { mode: 0o600 });
      const report = progress('Exported');
      let count = 0;
      const write = async (text: string) => {
        if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      };
      try {
        await write(
          headerLine({
            format: 'lookout-registry',
            version: 1,
            keyFingerprint: registry.keyFingerprint,
            source: registry.kind,
            exportedAt: new Date().toISOString(),
          }),
        );
        await registry.transfer.exportRows(async (row) => {
          await write(rowLine(row));
          report.tick(++count);
        });
        await write(trailerLine(count));
        out.end();
        await finished(out);
        renameSync(partial, file);
      } catch (err) {
        out.destroy();
        rmSync(partial, { force: true });
        throw err;
      }
      report.done(count);
      printLine(
        `Wrote ${file}. It holds secret hashes: keep it private. Import it with the same registry key (${registry.keyFingerprint}).`,
      );
    });
  });

  addCommonOptions(
    db
      .command('import')
      .description(
        'load an export into the configured registry (SQLite, or PostgreSQL with cluster.postgresUrl), which must be empty',
      )
      .argument('<file>', 'a file written by lookout db export'),
  ).action(async (file: string, options: CommonOptions) => {
    const { readTransferFile } = await import('../../devices/transfer-file.js');
    // The whole file is checked before anything is written.
    const checked = await readTransferFile(file);
    let total = 0;
    for await (const _ of checked.rows) total++;
    await withRegistry(
      options,
      async (registry) => {
        if (checked.header.keyFingerprint !== registry.keyFingerprint) {
          throw new LookoutError(
            'REGISTRY_KEY_MISMATCH',
            `${file} was exported from a registry hashed with key ${checked.header.keyFingerprint}, this one uses ${registry.keyFingerprint}: give this command the source's registry.key (cluster.registryKeyFile), or the imported secrets and tokens would not verify`,
            { file },
          );
        }
        const { rows } = await readTransferFile(file);
        const report = progress('Imported');
        const count = await registry.transfer.importRows(rows, (n) => report.tick(n));
        report.done(count);
        printLine(
          `Imported ${count} of ${total} rows into the ${registry.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'} registry.`,
        );
      },
      'create',
    );
  });

  return db;
}
