/**
 * edge-config/: the device-side contract. Schema of the file flashed onto a camera
 * (published as edge-config.schema.json), its generator and its loader.
 */
export { DEFAULT_STREAM, type EdgeConfigInput, renderEdgeConfig } from './generate.js';
export { loadEdgeConfig, parseEdgeConfig } from './load.js';
export { publicBrokerUrls, publicTurnUrls } from './public-urls.js';
export { type EdgeConfig, edgeConfigJsonSchema, edgeConfigSchema } from './schema.js';
