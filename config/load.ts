import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type YAML from 'yaml';
import type { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import { type ConfigKey, configKeys, ENV_PREFIX } from './keys.js';
import { type Config, configSchema } from './schema.js';

/** Environment variable naming the config file when `--config` is not given. */
export const CONFIG_FILE_ENV = 'LOOKOUT_CONFIG';

export interface LoadConfigInput {
  /** Path of a JSON or YAML file (`--config`). */
  file?: string | undefined;
  /** Usually `process.env`; only `LOOKOUT_*` names are read. */
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, by dotted key (`{ 'http.port': 9000 }`). */
  flags?: Readonly<Record<string, unknown>>;
}

type Tree = Record<string, unknown>;

/**
 * The one configuration pipeline: defaults <- file <- LOOKOUT_* environment <- flags,
 * validated (unknown keys rejected, each problem naming its key and where it came from),
 * then deeply frozen. Throws LookoutError `CONFIG_INVALID` listing every problem.
 */
export function loadConfig(input: LoadConfigInput = {}): Readonly<Config> {
  const keys = configKeys();
  const env = input.env ?? {};
  const file = input.file ?? env[CONFIG_FILE_ENV];
  const merged: Tree = {};
  const origin = new Map<string, string>();
  const problems: string[] = [];

  if (file) mergeInto(merged, readConfigFile(file), file, origin, '');
  const fromEnv = readEnv(env, keys, problems);
  for (const [key, { value, name }] of fromEnv) setPath(merged, key, value, origin, name);
  for (const [key, value] of Object.entries(input.flags ?? {})) {
    if (value !== undefined) setPath(merged, key, value, origin, `flag for ${key}`);
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) problems.push(...result.error.issues.map((issue) => describeIssue(issue, origin)));
  if (problems.length > 0 || !result.success) {
    throw new LookoutError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      problems,
    });
  }
  return deepFreeze(result.data);
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LookoutError(
      'CONFIG_FILE_UNREADABLE',
      `cannot read config file ${file}: ${(err as Error).message}`,
      {
        file,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(file) ? yaml().parse(text) : JSON.parse(text);
  } catch (err) {
    throw new LookoutError(
      'CONFIG_FILE_SYNTAX',
      `config file ${file} is not valid ${path.extname(file) || 'JSON'}: ${(err as Error).message}`,
      {
        file,
      },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new LookoutError('CONFIG_INVALID', `config file ${file} must hold an object at the top level`, {
      file,
    });
  }
  return parsed as Tree;
}

/**
 * The YAML parser, loaded only for a YAML file: it is 70 modules, and every `lookout` command
 * runs this pipeline (issue 9 item 21). `require` because loadConfig is synchronous.
 */
function yaml(): typeof YAML {
  return createRequire(import.meta.url)('yaml') as typeof YAML;
}

function readEnv(env: NodeJS.ProcessEnv, keys: ConfigKey[], problems: string[]) {
  const byEnv = new Map(keys.map((k) => [k.env, k]));
  const out = new Map<string, { value: unknown; name: string }>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || raw === undefined) continue;
    const key = byEnv.get(name);
    if (!key) {
      problems.push(
        `${name}: unknown environment variable (known: ${[...byEnv.keys(), CONFIG_FILE_ENV].join(', ')})`,
      );
      continue;
    }
    out.set(key.path, { value: parseEnvValue(raw, key), name });
  }
  return out;
}

/** Turns an environment string into the key's type; leaves it as is when it does not parse, so validation names it. */
export function parseEnvValue(raw: string, key: Pick<ConfigKey, 'kind'>): unknown {
  const text = raw.trim();
  switch (key.kind) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : raw;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return raw;
    case 'string[]':
      return text === '' ? [] : text.split(',').map((s) => s.trim());
    default:
      return raw;
  }
}

function mergeInto(
  target: Tree,
  source: Tree,
  label: string,
  origin: Map<string, string>,
  prefix: string,
): void {
  for (const [key, value] of Object.entries(source)) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(value)) {
      const child = isPlainObject(target[key]) ? (target[key] as Tree) : {};
      target[key] = child;
      origin.set(dotted, label);
      mergeInto(child, value, label, origin, dotted);
    } else {
      target[key] = value;
      origin.set(dotted, label);
    }
  }
}

function setPath(
  target: Tree,
  dotted: string,
  value: unknown,
  origin: Map<string, string>,
  label: string,
): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts.at(-1)!] = value;
  origin.set(dotted, label);
}

function describeIssue(issue: z.core.$ZodIssue, origin: Map<string, string>): string {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((k) => {
        const dotted = at ? `${at}.${k}` : k;
        return `'${dotted}': unknown key${sourceOf(dotted, origin)}`;
      })
      .join('\n  - ');
  }
  return `'${at || '(root)'}': ${issue.message}${sourceOf(at, origin)}`;
}

function sourceOf(dotted: string, origin: Map<string, string>): string {
  const label = origin.get(dotted);
  return label ? ` (from ${label})` : '';
}

function isPlainObject(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
