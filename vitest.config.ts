import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Servers the integration tests share (dockerd) start once here; see test/support/.
    globalSetup: ['test/support/docker-engine.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more parallel files only make the end-to-end tests time out.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
