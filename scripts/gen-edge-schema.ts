/** Writes edge-config/edge-config.schema.json from the zod schema (`npm run gen:schema`). */
import { writeFileSync } from 'node:fs';
import { edgeConfigJsonSchema } from '../edge-config/index.js';

export const EDGE_SCHEMA_FILE = new URL('../edge-config/edge-config.schema.json', import.meta.url);

export function renderEdgeSchema(): string {
  return `${JSON.stringify(edgeConfigJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(EDGE_SCHEMA_FILE, renderEdgeSchema());
  console.log(`wrote ${EDGE_SCHEMA_FILE.pathname}`);
}
