// mlops init --ci github: renders templates/ci/github-deploy.yml into the project's
// .github/workflows/, filling in the model, image, registry and gates.
import { readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConflictError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../registry/fs.js';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export interface CiWorkflowOptions {
  provider: string;
  projectDir: string;
  registryDir: string;
  model?: string;
  image?: string;
  namespace?: string;
  gates?: string[];
  force?: boolean;
}

/** Values go into YAML scalars and a shell line: only plain characters are allowed. */
function safe(value: string, what: string): string {
  if (!/^[A-Za-z0-9@%+=:,./_'<>!-]+$/.test(value)) throw new UsageError(`${what} '${value}' has characters a workflow file cannot hold safely`, 'use letters, digits and . _ - / : only');
  return value;
}

export async function writeCiWorkflow(options: CiWorkflowOptions): Promise<string> {
  if (options.provider !== 'github') throw new UsageError(`--ci ${options.provider} is not supported`, 'use --ci github');
  const target = join(options.projectDir, '.github', 'workflows', 'mlops-deploy.yml');
  const exists = await stat(target).then(() => true, () => false);
  if (exists && !options.force) throw new ConflictError(`${target} already exists`, 'remove it first, or pass --force to overwrite it');
  const template = await readFile(join(TEMPLATES_DIR, 'ci', 'github-deploy.yml'), 'utf8');
  const model = safe(options.model ?? 'MODEL_NAME', 'model');
  const gates = (options.gates ?? []).map((g) => `--require '${safe(g, 'gate')}'`).join(' ');
  const values: Record<string, string> = {
    model,
    image: safe(options.image ?? `ghcr.io/OWNER/mlops-${model}`, 'image'),
    registry: safe(relative(options.projectDir, options.registryDir) || '.', 'registry'),
    namespace: safe(options.namespace ?? 'default', 'namespace'),
    gates: gates || "--require 'accuracy>=0.9'",
  };
  const text = template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
  await writeFileAtomic(target, text);
  return target;
}
