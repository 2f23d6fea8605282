// Shared by the rollout tests that drive deployRollout with the real kubectl against the
// in-memory API server (test/support/fake-kube.ts): the binary, whether to skip, and
// small readers of the fake's objects.
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { ExecaRunner } from '../../src/tools/runner.ts';
import type { JsonObject } from './fake-kube-patch.ts';
import { requireOrSkip } from './integration.ts';

export const kubectlBinary = process.env.MLOPS_KUBECTL ?? 'kubectl';
/** undefined when kubectl runs; else the reason to skip (or a failure under MLOPS_REQUIRE_INTEGRATION=1). */
export const kubectlSkip = requireOrSkip(
  spawnSync(kubectlBinary, ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 30_000 }).status === 0,
  `${kubectlBinary} does not run`,
);

export const runner = new ExecaRunner();
export const NS = 'ml';
export const APP = 'mlops-fraud';
export const spec = (object: JsonObject | undefined) => (object?.spec ?? {}) as Record<string, any>;
export const annotations = (object: JsonObject | undefined) => ((object?.metadata as JsonObject | undefined)?.annotations ?? {}) as Record<string, string>;

/** Polls `check` every 20 ms; fails naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}
