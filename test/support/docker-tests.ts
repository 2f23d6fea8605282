// What docker tests read from the engine that test/support/docker-engine.ts (vitest
// globalSetup) provides: whether it runs, why not, its DOCKER_HOST and the base image.
import { inject } from 'vitest';
import { skipOrFail } from './integration.ts';

export interface DockerForTests {
  available: boolean;
  skipReason: string;
  baseImage: string;
  /** The process environment with DOCKER_HOST pointing at the test engine. */
  env: Record<string, string | undefined>;
}

export function dockerForTests(): DockerForTests {
  // inject() is undefined when test/support/docker-engine.ts is not in vitest's globalSetup.
  const skipReason = inject('dockerSkipReason') ?? skipOrFail('test/support/docker-engine.ts is not in vitest globalSetup');
  const env: Record<string, string | undefined> = { ...process.env };
  if (inject('dockerHost')) env.DOCKER_HOST = inject('dockerHost');
  return { available: inject('dockerAvailable') === true, skipReason, baseImage: inject('dockerBaseImage'), env };
}
