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

function walk(
  schema: z.ZodType,
  path: string[],
  out: ConfigKey[],
  description: string,
  defaultValue: unknown,
): void {
  const def = defOf(schema);
  const text = description || describe(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
      walk(def.innerType!, path, out, text, def.defaultValue);
      return;
    case 'optional':
    case 'pipe':
      walk((def.innerType ?? def.in)!, path, out, text, defaultValue);
      return;
    case 'object':
      for (const [key, child] of Object.entries(def.shape!)) walk(child, [...path, key], out, '', undefined);
      return;
    default: {
      const kind: KeyKind =
        def.type === 'array' ? 'string[]' : def.type === 'enum' ? 'enum' : (def.type as KeyKind);
      out.push({
        path: path.join('.'),
        env: ENV_PREFIX + path.map(toEnvSegment).join('_'),
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
