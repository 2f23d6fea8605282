// `mlops ab report`'s public API, for src/cli/commands/ab.ts.
export { analyzeExperiment, type AbReport, type AnalyzeOptions, type Comparison, type VariantStats } from './analyze.js';
