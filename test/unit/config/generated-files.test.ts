import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS_FILE, renderConfigDocs } from '../../../scripts/gen-config-docs.js';
import { EDGE_SCHEMA_FILE, renderEdgeSchema } from '../../../scripts/gen-edge-schema.js';

describe('generated files are up to date', () => {
  it('docs/configuration.md matches the config schema (run npm run gen:config-docs)', () => {
    expect(readFileSync(CONFIG_DOCS_FILE, 'utf8')).toBe(renderConfigDocs());
  });

  it('edge-config/edge-config.schema.json matches the edge config schema (run npm run gen:schema)', () => {
    expect(readFileSync(EDGE_SCHEMA_FILE, 'utf8')).toBe(renderEdgeSchema());
  });
});
