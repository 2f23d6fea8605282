// `mlops serve`'s public API, for src/cli/commands/serve.ts (import it lazily: it loads
// onnxruntime-node once models load).
export { startServer, type ServerHandle, type ServedVersion } from './server.js';
export { DEFAULTS, buildPlan, parseAbFlag, parseByteSize, parseShadowFlag, type ServeOptions, type ServePlan, type ServeConfigFile } from './options.js';
export type { ServeEvent, OnServeEvent } from './events.js';
export type { PredictionRow, FeedbackRow } from '../prediction-log/index.js';
export { stickyBucket, BUCKETS } from './routing.js';
