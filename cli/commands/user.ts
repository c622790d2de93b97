import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { LookoutError } from '../../core/errors.js';
import { addCommonOptions, type CommonOptions, withRegistry } from '../context.js';
import { isoOrNull, printJson, printLine, printTable } from '../format.js';

/** The first line of stdin (`--password-stdin`), bounded. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 4096) break;
  }
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (line.length === 0) throw new LookoutError('PASSWORD_INVALID', 'no password on stdin');
  return line;
}

/** The password given on stdin, or a new random one (printed once). */
async function passwordFor(options: {
  passwordStdin?: boolean;
}): Promise<{ password: string; generated: boolean }> {
  if (options.passwordStdin) return { password: await readPasswordFromStdin(), generated: false };
  return { password: randomBytes(15).toString('base64url'), generated: true };
}

/** `lookout user add|list|passwd|remove|grant|revoke` (D34). */
export function userCommand(): Command {
  const user = new Command('user').description(
    'people who sign in to the web app: roles, passwords, camera grants',
  );

  addCommonOptions(
    user
      .command('add')
      .description(
        'add a user (a viewer unless --admin) and print its password once (unless --password-stdin)',
      )
      .argument('<name>', 'user name: letters, digits, ".", "_", "-", "@"')
      .option('--admin', 'an admin: every camera, device and user management')
      .option('--password-stdin', 'read the password from the first line of stdin instead of generating one'),
  ).action(async (name: string, options: CommonOptions & { admin?: boolean; passwordStdin?: boolean }) => {
    const { password, generated } = await passwordFor(options);
    await withRegistry(
      options,
      async (registry) => {
        const added = await registry.users.add(name, options.admin ? 'admin' : 'viewer', password);
        if (generated) printLine(password);
        process.stderr.write(
          `User ${added.name} (${added.role}) added.${generated ? ' The password above is shown only now.' : ''}` +
            (added.role === 'viewer'
              ? ` Grant cameras with: lookout user grant ${added.name} <camera>\n`
              : '\n'),
        );
      },
      'create',
    );
  });

  addCommonOptions(
    user.command('list').description('list users, their roles and grants').option('--json', 'print JSON'),
  ).action(async (options: CommonOptions & { json?: boolean }) => {
    await withRegistry(options, async (registry) => {
      const users = await registry.users.list();
      const rows = await Promise.all(
        users.map(async (u) => ({
          ...u,
          grants: u.role === 'admin' ? [] : await registry.users.grants(u.name),
        })),
      );
      if (options.json) {
        return printJson({
          users: rows.map((u) => ({
            name: u.name,
            role: u.role,
            createdAt: isoOrNull(u.createdAt),
            grants: u.grants.map((g) => ({ camera: g.camera, live: g.live, recordings: g.recordings })),
          })),
        });
      }
      printTable(
        ['NAME', 'ROLE', 'CAMERAS'],
        rows.map((u) => [
          u.name,
          u.role,
          u.role === 'admin'
            ? 'all'
            : u.grants
                .map(
                  (g) =>
                    `${g.camera}(${[g.live ? 'live' : '', g.recordings ? 'recordings' : ''].filter(Boolean).join('+')})`,
                )
                .join(' ') || '-',
        ]),
      );
    });
  });

  addCommonOptions(
    user
      .command('passwd')
      .description("set a user's password (a new random one unless --password-stdin); its sessions end")
      .argument('<name>', 'user name')
      .option('--password-stdin', 'read the password from the first line of stdin'),
  ).action(async (name: string, options: CommonOptions & { passwordStdin?: boolean }) => {
    const { password, generated } = await passwordFor(options);
    await withRegistry(options, async (registry) => {
      await registry.users.setPassword(name, password);
      if (generated) printLine(password);
      process.stderr.write(`Password of ${name} changed; its sessions are signed out.\n`);
    });
  });

  addCommonOptions(
    user
      .command('remove')
      .description('remove a user: its sessions, live views and API tokens end within a second')
      .argument('<name>', 'user name'),
  ).action(async (name: string, options: CommonOptions) => {
    await withRegistry(options, async (registry) => {
      await registry.users.remove(name);
      printLine(`Removed user ${name}.`);
    });
  });

  for (const giving of [true, false]) {
    addCommonOptions(
      user
        .command(giving ? 'grant' : 'revoke')
        .description(
          giving
            ? 'let a viewer watch a camera live and/or its recordings (both when neither flag is given)'
            : "take a viewer's rights on a camera away (both when neither flag is given); its live views end within a second",
        )
        .argument('<name>', 'user name')
        .argument('<camera>', 'device id')
        .option('--live', 'live view')
        .option('--recordings', 'recordings'),
    ).action(
      async (
        name: string,
        camera: string,
        options: CommonOptions & { live?: boolean; recordings?: boolean },
      ) => {
        const both = !options.live && !options.recordings;
        await withRegistry(options, async (registry) => {
          const current = (await registry.users.grants(name)).find((g) => g.camera === camera) ?? {
            live: false,
            recordings: false,
          };
          const pick = (flag: boolean | undefined, now: boolean) => (both || flag ? giving : now);
          const grant = await registry.users.grant(name, camera, {
            live: pick(options.live, current.live),
            recordings: pick(options.recordings, current.recordings),
          });
          printLine(
            grant
              ? `${name} may now see ${camera}: ${[grant.live ? 'live' : '', grant.recordings ? 'recordings' : ''].filter(Boolean).join(' and ')}.`
              : `${name} may no longer see ${camera}.`,
          );
        });
      },
    );
  }

  return user;
}
