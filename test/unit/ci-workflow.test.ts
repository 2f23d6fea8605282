// mlops init --ci github renders a workflow that parses, keeps secrets out of command lines, and refuses to clobber.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writeCiWorkflow } from '../../src/deploy/ci.js';
import { tempDir } from '../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('GitHub workflow template', () => {
  it('renders valid YAML with the model, image, gates and secrets passed through the environment', async () => {
    const path = await writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: join(dir, 'models-registry'), model: 'fraud', image: 'ghcr.io/acme/fraud', gates: ['accuracy>=0.9', 'auc_roc>=0.85'] });
    const text = await readFile(path, 'utf8');
    const workflow = parse(text);
    expect(workflow.env).toMatchObject({ MODEL: 'fraud', IMAGE: 'ghcr.io/acme/fraud', MLOPS_REGISTRY: 'models-registry' });
    expect(workflow.on.push.paths).toEqual(['models-registry/**']);
    const steps = workflow.jobs.deploy.steps as Array<{ name?: string; run?: string; env?: Record<string, string> }>;
    expect(steps.find((s) => s.name === 'Promotion gates')?.run).toContain("--require 'accuracy>=0.9' --require 'auc_roc>=0.85'");
    expect(steps.find((s) => s.name === 'Deploy (blue-green)')?.run).toMatch(/mlops deploy .* --push/);
    for (const step of steps) expect(step.run ?? '', 'secrets must not be expanded into scripts').not.toMatch(/secrets\./);
    expect(text).not.toMatch(/\{\{\s*\w+\s*\}\}/);
  });

  it('refuses to overwrite, and refuses values that would break the file', async () => {
    await writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: dir, model: 'fraud' });
    await expect(writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: dir, model: 'fraud' })).rejects.toThrow(/already exists/);
    await expect(writeCiWorkflow({ provider: 'github', projectDir: dir, registryDir: dir, model: 'x"; rm -rf /', force: true })).rejects.toThrow(/cannot hold safely/);
  });
});
