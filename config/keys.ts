import type { z } from 'zod';
import { configSchema } from './schema.js';

/** The value kinds a leaf key can take; decides how env strings and flags are read. */
export type KeyKind = 'string' | 'number' | 'boolean' | 'enum' | 'string[]';

export interface ConfigKey {
  /** Dotted path, e.g. `mqtt.maxPacketBytes`. */
  path: string;
  /** Environment variable, e.g. `LOOKOUT_MQTT_MAX_PACKET_BYTES`. */
  env: string;
  kind: KeyKind;
  /** Allowed values when `kind` is `enum`. */
  values?: readonly string[];
  defaultValue: unknown;
  description: string;
}

export const ENV_PREFIX = 'LOOKOUT_';

/** `maxPacketBytes` -> `MAX_PACKET_BYTES`. */
function toEnvSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  entries?: Record<string, string>;
  defaultValue?: unknown;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function describe(schema: z.ZodType): string {
  return (schema as unknown as { description?: string }).description ?? '';
}

/**
 * A key whose variable is not derived from its path says so with `.meta({ env: 'LOOKOUT_...' })`
 * (`client.server` is `LOOKOUT_SERVER`, the name scripts already use).
 */
function envOverride(schema: z.ZodType): string | undefined {
  const meta = (schema as unknown as { meta(): { env?: unknown } | undefined }).meta();
  return typeof meta?.env === 'string' ? meta.env : undefined;
}

function walk(
  schema: z.ZodType,
  path: string[],
  out: ConfigKey[],
  description: string,
  defaultValue: unknown,
  env?: string,
): void {
  const def = defOf(schema);
  const text = description || describe(schema);
  const envName = env ?? envOverride(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
      walk(def.innerType!, path, out, text, def.defaultValue, envName);
      return;
    case 'optional':
    case 'pipe':
      walk((def.innerType ?? def.in)!, path, out, text, defaultValue, envName);
      return;
    case 'object':
      for (const [key, child] of Object.entries(def.shape!)) walk(child, [...path, key], out, '', undefined);
      return;
    default: {
      const kind: KeyKind =
        def.type === 'array' ? 'string[]' : def.type === 'enum' ? 'enum' : (def.type as KeyKind);
      out.push({
        path: path.join('.'),
        env: envName ?? ENV_PREFIX + path.map(toEnvSegment).join('_'),
        kind,
        ...(def.entries ? { values: Object.values(def.entries) } : {}),
        defaultValue,
        description: text,
      });
    }
  }
}

/** Every leaf key of the configuration, in schema order. */
export function configKeys(): ConfigKey[] {
  const out: ConfigKey[] = [];
  walk(configSchema, [], out, '', undefined);
  return out;
}
