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
  /**
   * How CI installs mlops, as an npm install spec: a packed tarball URL
   * (https://.../mlops-0.1.0.tgz) or a git URL pinned to a commit (git+https://...#<sha>).
   */
  mlopsFrom?: string;
  /** A registry in a bucket (s3://bucket/prefix): then the workflow never pushes to git. */
  registryBucket?: string;
}

/** The host `docker login` needs for an image: ghcr.io for ghcr.io/acme/fraud, docker.io for acme/fraud. */
export function registryHostOf(image: string): string {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/** An npm install spec that pins mlops: a tarball, or a git URL with a full commit hash. */
function checkMlopsFrom(spec: string | undefined): string {
  const hint = 'pass --mlops-from with a packed tarball (npm pack; e.g. https://example.com/mlops-0.1.0.tgz) or a git URL pinned to a commit (git+https://github.com/ORG/mlops.git#<40-hex commit>)';
  if (!spec) throw new UsageError('--ci needs --mlops-from: how CI installs mlops (it is not on a package registry)', hint);
  const pinnedGit = /^git\+(https|ssh):\/\/\S+#[0-9a-f]{40}$/.test(spec);
  const tarball = /^https:\/\/\S+\.tgz$/.test(spec);
  if (!pinnedGit && !tarball) throw new UsageError(`--mlops-from '${spec}' is neither a .tgz URL nor a git URL pinned to a full commit`, hint);
  return spec;
}

/** Values go into YAML scalars and a shell line: only plain characters are allowed. */
function safe(value: string, what: string): string {
  if (!/^[A-Za-z0-9@%+=:,./_'<>!#-]+$/.test(value)) throw new UsageError(`${what} '${value}' has characters a workflow file cannot hold safely`, 'use letters, digits and . _ - / : only');
  return value;
}

export async function writeCiWorkflow(options: CiWorkflowOptions): Promise<string> {
  if (options.provider !== 'github') throw new UsageError(`--ci ${options.provider} is not supported`, 'use --ci github');
  const target = join(options.projectDir, '.github', 'workflows', 'mlops-deploy.yml');
  const exists = await stat(target).then(() => true, () => false);
  if (exists && !options.force) throw new ConflictError(`${target} already exists`, 'remove it first, or pass --force to overwrite it');
  const bucket = options.registryBucket;
  if (bucket !== undefined && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._/-]*)?$/.test(bucket)) {
    throw new UsageError(`--registry-bucket '${bucket}' is not an s3:// URL`, 'write it like s3://team-models/registry');
  }
  const template = await readFile(join(TEMPLATES_DIR, 'ci', bucket ? 'github-deploy-bucket.yml' : 'github-deploy.yml'), 'utf8');
  const model = safe(options.model ?? 'MODEL_NAME', 'model');
  const gates = (options.gates ?? []).map((g) => `--require '${safe(g, 'gate')}'`).join(' ');
  const image = safe(options.image ?? `ghcr.io/OWNER/mlops-${model}`, 'image');
  const values: Record<string, string> = {
    model,
    image,
    registry_host: registryHostOf(image),
    mlops_from: safe(checkMlopsFrom(options.mlopsFrom), 'mlops-from'),
    registry: bucket ?? safe(relative(options.projectDir, options.registryDir) || '.', 'registry'),
    namespace: safe(options.namespace ?? 'default', 'namespace'),
    gates: gates || "--require 'accuracy>=0.9'",
  };
  const text = template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
  await writeFileAtomic(target, text);
  return target;
}
