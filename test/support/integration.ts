// The one reader of MLOPS_REQUIRE_INTEGRATION (set by .ci/run): with it, a missing peer
// program (docker, kubectl, Prometheus, openssl) fails the run instead of skipping tests.

/** CI: tests must fail, not skip, when a program they talk to is missing. */
export const integrationRequired = process.env.MLOPS_REQUIRE_INTEGRATION === '1';

/**
 * A peer program is missing: throws when integration is required, else returns the
 * reason to skip with (naming the variable that would make it a failure).
 */
export function skipOrFail(reason: string): string {
  if (integrationRequired) throw new Error(`MLOPS_REQUIRE_INTEGRATION=1 but ${reason}`);
  return `${reason} (set MLOPS_REQUIRE_INTEGRATION=1 to fail instead)`;
}

/** undefined when the peer is available (run the tests), else as skipOrFail(reason). */
export function requireOrSkip(available: boolean, reason: string): string | undefined {
  return available ? undefined : skipOrFail(reason);
}
