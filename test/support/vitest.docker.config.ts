// The project's vitest config plus the docker engine, for running the docker tests alone:
// npx vitest run --config test/support/vitest.docker.config.ts test/integration/docker-*.test.ts
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default mergeConfig(base, defineConfig({
  test: { globalSetup: ['test/support/docker-engine.ts'] },
}));
