import { defineConfig } from 'vitest/config';

// Three tiers (CONTRIBUTING.md): `unit` needs no service and finishes in seconds;
// `integration` (test/integration, test/e2e) starts real programs, with the docker
// engine from the global setup; `stats` holds the slow statistical power checks.
// `npm test` runs all three; `npm run test:unit` only the first.
const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // Two cores: more parallel files only make the end-to-end tests time out.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { ...shared, name: 'stats', include: ['test/stats/**/*.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          // Servers the integration tests share (dockerd) start once here; see test/support/.
          globalSetup: ['test/support/docker-engine.ts', 'test/support/s3-global.ts'],
        },
      },
    ],
  },
});
