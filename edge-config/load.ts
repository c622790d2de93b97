import { readFileSync } from 'node:fs';
import { LookoutError } from '../core/errors.js';
import { type EdgeConfig, edgeConfigSchema } from './schema.js';

/** Reads and validates an edge config file. Throws EDGE_CONFIG_INVALID naming each bad key. */
export function loadEdgeConfig(file: string): EdgeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LookoutError(
      'EDGE_CONFIG_UNREADABLE',
      `cannot read edge config ${file}: ${(err as Error).message}`,
      { file },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LookoutError(
      'EDGE_CONFIG_INVALID',
      `edge config ${file} is not valid JSON: ${(err as Error).message}`,
      { file },
    );
  }
  return parseEdgeConfig(json, file);
}

/** Validates an already parsed edge config. */
export function parseEdgeConfig(json: unknown, source = 'edge config'): EdgeConfig {
  const result = edgeConfigSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    return issue.code === 'unrecognized_keys'
      ? `'${key}': unknown keys ${issue.keys.join(', ')}`
      : `'${key}': ${issue.message}`;
  });
  throw new LookoutError('EDGE_CONFIG_INVALID', `${source} is invalid:\n  - ${problems.join('\n  - ')}`, {
    problems,
  });
}
