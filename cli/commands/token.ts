import { Command } from 'commander';
import { addCommonOptions, type CommonOptions, withRegistry } from '../context.js';
import { ago, isoOrNull, printJson, printLine, printTable } from '../format.js';

export function tokenCommand(): Command {
  const token = new Command('token').description('API tokens for people and scripts (HTTP API, WHEP)');

  addCommonOptions(
    token
      .command('create')
      .description('create an API token and print it once')
      .option('-n, --name <name>', 'what the token is for', 'api')
      .option('--user <name>', 'act for this user (its rights at most); without it: an admin token')
      .option('--cameras <ids>', 'limit the token to these cameras (comma-separated device ids)')
      .option('--read-only', 'refuse every change (watching and downloading stay allowed)')
      .option('--json', 'print JSON'),
  ).action(
    async (
      options: CommonOptions & {
        name: string;
        json?: boolean;
        user?: string;
        cameras?: string;
        readOnly?: boolean;
      },
    ) => {
      await withRegistry(
        options,
        async (registry) => {
          if (options.user !== undefined && !(await registry.users.get(options.user))) {
            const { LookoutError } = await import('../../core/errors.js');
            throw new LookoutError('USER_NOT_FOUND', `no user '${options.user}'`);
          }
          const { token: secret, info } = await registry.tokens.create(options.name, {
            ...(options.user !== undefined ? { user: options.user } : {}),
            ...(options.cameras !== undefined
              ? {
                  cameras: options.cameras
                    .split(',')
                    .map((c) => c.trim())
                    .filter(Boolean),
                }
              : {}),
            ...(options.readOnly ? { readOnly: true } : {}),
          });
          if (options.json) return printJson({ id: info.id, name: info.name, token: secret });
          printLine(secret);
          process.stderr.write(
            `Token ${info.id} (${info.name}) created. It is shown only now: use it as "Authorization: Bearer <token>".\n`,
          );
        },
        'create',
      );
    },
  );

  addCommonOptions(
    token.command('list').description('list API tokens (never their values)').option('--json', 'print JSON'),
  ).action(async (options: CommonOptions & { json?: boolean }) => {
    await withRegistry(options, async (registry) => {
      const tokens = await registry.tokens.list();
      if (options.json) {
        return printJson({
          tokens: tokens.map((t) => ({
            id: t.id,
            name: t.name,
            createdAt: isoOrNull(t.createdAt),
            lastUsedAt: isoOrNull(t.lastUsedAt),
            revoked: t.revokedAt !== null,
            user: t.user,
            cameras: t.cameras,
            readOnly: t.readOnly,
          })),
        });
      }
      printTable(
        ['ID', 'NAME', 'USER', 'SCOPE', 'STATE', 'LAST USED'],
        tokens.map((t) => [
          t.id,
          t.name,
          t.user ?? '(admin)',
          [t.cameras ? t.cameras.join(',') : 'all cameras', t.readOnly ? 'read-only' : '']
            .filter(Boolean)
            .join(' '),
          t.revokedAt === null ? 'active' : 'revoked',
          ago(t.lastUsedAt),
        ]),
      );
    });
  });

  addCommonOptions(
    token.command('revoke').description('revoke an API token').argument('<id>', 'token id (from token list)'),
  ).action(async (id: string, options: CommonOptions) => {
    await withRegistry(options, async (registry) => {
      await registry.tokens.revoke(id);
      printLine(`Revoked token ${id}.`);
    });
  });

  return token;
}
