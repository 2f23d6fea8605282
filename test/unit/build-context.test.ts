// Build context assembly: production packages found and laid out the way Node loads
// them, onnxruntime trimmed to the target platform, the model exported, modes fixed.
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, UsageError } from '../../src/errors.js';
import {
  assembleContext,
  collectProductionPackages,
  layoutPackages,
  onnxArchsFor,
  renderDockerfile,
  type PackageNode,
} from '../../src/deploy/context.js';
import { buildImage, type ImageEvent } from '../../src/deploy/image.js';
import { Docker } from '../../src/tools/docker.js';
import { RecordingRunner } from '../support/recording-runner.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TEMPLATE = join(ROOT, 'templates', 'Dockerfile');
const model = { name: 'fraud', version: 'v1.0.0' };

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mlops-context-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function put(path: string, content: string | Buffer, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  if (mode !== undefined) await chmod(path, mode);
}

/** A CommonJS package whose index reports its version and what its dependencies report. */
async function fakePackage(dir: string, name: string, version: string, dependencies: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  await put(join(dir, 'package.json'), JSON.stringify({ name, version, main: 'index.js', dependencies, ...extra }));
  const uses = Object.keys(dependencies).map((dep) => `' ' + require(${JSON.stringify(dep)})`).join(' + ');
  await put(join(dir, 'index.js'), `module.exports = ${JSON.stringify(`${name}@${version}`)}${uses ? ` + ' [' + ${uses} + ' ]'` : ''};\n`);
}

/**
 * A package root shaped like an installed mlops: two versions of `c` (one nested),
 * a scoped package, a dev-only package, an optional one that is not installed, and an
 * onnxruntime-node with binaries for four platforms.
 */
async function fakeMlops(root: string): Promise<void> {
  await put(join(root, 'package.json'), JSON.stringify({
    name: 'mlops',
    version: '0.1.0',
    type: 'module',
    bin: { mlops: 'bin/mlops' },
    scripts: { prepare: 'npm run build' },
    dependencies: { a: '^1', '@scope/b': '^1', 'onnxruntime-node': '^1' },
    optionalDependencies: { 'not-installed': '^1' },
    devDependencies: { devonly: '^1' },
  }));
  await put(join(root, 'bin', 'mlops'), '#!/usr/bin/env node\nimport "../dist/cli/main.js";\n', 0o755);
  await put(join(root, 'dist', 'cli', 'main.js'), 'export {};\n');
  await put(join(root, 'dist', 'cli', 'main.js.map'), '{}');
  await put(join(root, 'templates', 'Dockerfile'), await readFile(TEMPLATE, 'utf8'));
  const modules = join(root, 'node_modules');
  await fakePackage(join(modules, 'a'), 'a', '1.0.0', { c: '^2' });
  await fakePackage(join(modules, 'c'), 'c', '2.0.0');
  await fakePackage(join(modules, '@scope', 'b'), '@scope/b', '1.0.0', { c: '^1' });
  await fakePackage(join(modules, '@scope', 'b', 'node_modules', 'c'), 'c', '1.0.0');
  await fakePackage(join(modules, 'devonly'), 'devonly', '1.0.0');
  await fakePackage(join(modules, 'onnxruntime-node'), 'onnxruntime-node', '1.30.0', { 'onnxruntime-common': '1.30.0' });
  await fakePackage(join(modules, 'onnxruntime-common'), 'onnxruntime-common', '1.30.0');
  const bins = join(modules, 'onnxruntime-node', 'bin', 'napi-v6');
  const sizes: Record<string, number> = { 'linux/x64': 1000, 'linux/arm64': 700, 'darwin/arm64': 3000, 'win32/x64': 2000 };
  for (const [platform, size] of Object.entries(sizes)) {
    await put(join(bins, platform, 'onnxruntime_binding.node'), Buffer.alloc(size, 1));
    await put(join(bins, platform, 'libonnxruntime.so.1'), Buffer.alloc(size, 2));
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string) => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
}

describe('assembleContext', () => {
  let root: string;
  beforeAll(async () => {
    root = join(work, 'pkg');
    await fakeMlops(root);
  });

  async function assemble(platforms: string[], exportModel = async (dest: string) => {
    await put(join(dest, 'mlops-registry.yaml'), 'format: 1\n', 0o600);
    await put(join(dest, 'models', 'fraud', 'versions', 'v1.0.0.yaml'), 'name: fraud\n', 0o600);
  }) {
    const dir = await mkdtemp(join(work, 'ctx-'));
    const exported: string[] = [];
    const context = await assembleContext({
      packageRoot: root,
      dir,
      model,
      platforms,
      exportModel: async (dest) => {
        exported.push(dest);
        await exportModel(dest);
      },
    });
    return { context, dir, exported };
  }

  it('holds mlops, its production packages for linux/amd64 and the exported model', async () => {
    const { context, dir, exported } = await assemble(['linux/amd64']);
    expect(exported).toEqual([join(dir, 'registry')]);
    const files = await listFiles(dir);
    expect(files).toEqual([
      'Dockerfile',
      'app/bin/mlops',
      'app/dist/cli/main.js',
      'app/node_modules/@scope/b/index.js',
      'app/node_modules/@scope/b/node_modules/c/index.js',
      'app/node_modules/@scope/b/node_modules/c/package.json',
      'app/node_modules/@scope/b/package.json',
      'app/node_modules/a/index.js',
      'app/node_modules/a/package.json',
      'app/node_modules/c/index.js',
      'app/node_modules/c/package.json',
      'app/node_modules/onnxruntime-common/index.js',
      'app/node_modules/onnxruntime-common/package.json',
      'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'app/node_modules/onnxruntime-node/index.js',
      'app/node_modules/onnxruntime-node/package.json',
      'app/package.json',
      'app/templates/Dockerfile',
      'registry/mlops-registry.yaml',
      'registry/models/fraud/versions/v1.0.0.yaml',
    ]);
    expect(context.packages).toBe(6);
    expect(context.files).toBe(files.length);
    // darwin/arm64 + win32/x64 + linux/arm64, two files each.
    expect(context.droppedBytes).toBe(2 * (3000 + 2000 + 700));
    expect(context.dropped.map((entry) => entry.path).sort()).toEqual([
      'node_modules/onnxruntime-node/bin/napi-v6/darwin',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64',
      'node_modules/onnxruntime-node/bin/napi-v6/win32',
    ]);
  });

  it('lays node_modules out so that Node loads the same versions as in the source install', async () => {
    const { dir } = await assemble(['linux/amd64']);
    const { stdout } = await execa('node', ['-e', "console.log(require('a')); console.log(require('@scope/b'))"], { cwd: join(dir, 'app') });
    expect(stdout.split('\n')).toEqual(['a@1.0.0 [ c@2.0.0 ]', '@scope/b@1.0.0 [ c@1.0.0 ]']);
  });

  it('keeps only the arm64 binaries for linux/arm64, both for a two-platform build', async () => {
    const arm = await listFiles((await assemble(['linux/arm64'])).dir);
    expect(arm.filter((file) => file.includes('/napi-v6/'))).toEqual([
      'app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
      'app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    ]);
    const both = await listFiles((await assemble(['linux/amd64', 'linux/arm64'])).dir);
    expect(both.filter((file) => file.includes('/napi-v6/'))).toHaveLength(4);
  });

  it('writes a production package.json and renders the model into the CMD', async () => {
    const { dir } = await assemble(['linux/amd64']);
    const manifest = JSON.parse(await readFile(join(dir, 'app', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: 'mlops', type: 'module', dependencies: { a: '^1' } });
    expect(manifest).not.toHaveProperty('devDependencies');
    expect(manifest).not.toHaveProperty('scripts');
    const dockerfile = await readFile(join(dir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('CMD ["node", "/app/bin/mlops", "serve", "fraud@v1.0.0", "--registry", "/app/registry"');
    expect(dockerfile).not.toMatch(/^[^#]*\{\{MODEL\}\}/m);
  });

  it('makes every file readable by the image\'s unprivileged user, executables executable', async () => {
    const { dir } = await assemble(['linux/amd64']);
    const modeOf = async (path: string) => (await stat(join(dir, path))).mode & 0o777;
    expect(await modeOf('registry/models/fraud/versions/v1.0.0.yaml')).toBe(0o644);
    expect(await modeOf('app/bin/mlops')).toBe(0o755);
    expect(await modeOf('registry/models')).toBe(0o755);
  });

  it('refuses a package root that was not built, and a missing required dependency', async () => {
    const unbuilt = join(work, 'unbuilt');
    await fakeMlops(unbuilt);
    await rm(join(unbuilt, 'dist'), { recursive: true });
    const dir = await mkdtemp(join(work, 'ctx-'));
    const options = { packageRoot: unbuilt, dir, model, platforms: ['linux/amd64'], exportModel: async () => {} };
    await expect(assembleContext(options)).rejects.toThrow(NotFoundError);
    await expect(assembleContext(options)).rejects.toMatchObject({ message: /mlops is not built/, hint: /npm run build/ });

    const broken = join(work, 'broken');
    await fakeMlops(broken);
    await rm(join(broken, 'node_modules', 'c'), { recursive: true });
    await expect(assembleContext({ ...options, packageRoot: broken })).rejects.toThrow(/a needs 'c', which is not installed/);
  });

  it('lays out an mlops installed inside another project, its dependencies hoisted there', async () => {
    // project/node_modules/{mlops, a, x@1} and mlops/node_modules/x@2: copying the folders
    // as they are would put both x at node_modules/x.
    const project = join(work, 'project');
    const mlopsRoot = join(project, 'node_modules', 'mlops');
    await fakeMlops(mlopsRoot);
    await rm(join(mlopsRoot, 'node_modules'), { recursive: true });
    await put(join(mlopsRoot, 'package.json'), JSON.stringify({ name: 'mlops', version: '0.1.0', dependencies: { a: '^1', x: '^2' } }));
    await fakePackage(join(mlopsRoot, 'node_modules', 'x'), 'x', '2.0.0');
    await fakePackage(join(project, 'node_modules', 'a'), 'a', '1.0.0', { x: '^1' });
    await fakePackage(join(project, 'node_modules', 'x'), 'x', '1.0.0');
    await fakePackage(join(project, 'node_modules', 'unrelated'), 'unrelated', '1.0.0');

    const dir = await mkdtemp(join(work, 'ctx-'));
    await assembleContext({ packageRoot: mlopsRoot, dir, model, platforms: ['linux/amd64'], exportModel: async () => {} });
    const modules = (await listFiles(join(dir, 'app', 'node_modules'))).filter((file) => file.endsWith('package.json'));
    expect(modules).toEqual(['a/node_modules/x/package.json', 'a/package.json', 'x/package.json']);
    const { stdout } = await execa('node', ['-e', "console.log(require('a')); console.log(require('x'))"], { cwd: join(dir, 'app') });
    expect(stdout.split('\n')).toEqual(['a@1.0.0 [ x@1.0.0 ]', 'x@2.0.0']);
  });

  it('passes on an export failure untouched', async () => {
    const failure = new NotFoundError('fraud@v9.9.9 is not registered');
    await expect(assemble(['linux/amd64'], async () => { throw failure; })).rejects.toBe(failure);
  });
});

describe('buildImage through a recording runner', () => {
  it('asks the engine, assembles for its platform, builds, inspects, pushes, then cleans up', async () => {
    const root = join(work, 'pkg-for-image');
    await fakeMlops(root);
    const digest = `sha256:${'c'.repeat(64)}`;
    let contextDuringBuild: string[] = [];
    const runner = new RecordingRunner()
      .on(['version'], { stdout: '{"Version":"27.0.1","Os":"linux","Arch":"arm64"}\n' })
      .when((call) => call.args[0] === 'build', (call) => {
        // The context exists while docker reads it.
        contextDuringBuild = existsSync(call.args.at(-1)!) ? readdirSync(call.args.at(-1)!).sort() : [];
        return { lines: [{ line: 'Step 1/2 : FROM base' }, { line: 'Step 2/2 : COPY app/ /app/' }] };
      })
      .on(['image', 'inspect'], { stdout: JSON.stringify({ Id: `sha256:${'d'.repeat(64)}`, Size: 150_000_000, Config: {} }) })
      .on(['push'], { lines: [{ line: `v1.0.0: digest: ${digest} size: 1234` }] });
    const events: ImageEvent[] = [];
    const result = await buildImage({
      docker: new Docker({ runner, bin: 'docker' }),
      packageRoot: root,
      model: { ...model, sha256: 'e'.repeat(64) },
      exportModel: async (dest) => put(join(dest, 'mlops-registry.yaml'), 'format: 1\n'),
      image: '127.0.0.1:5000/fraud',
      push: true,
      created: new Date('2026-01-01T00:00:00Z'),
      workDir: join(work, 'image-work'),
      onEvent: (event) => events.push(event),
    });

    expect(runner.commands.map((command) => command.slice(1, 3))).toEqual([['version', '--format'], ['build', '--file'], ['image', 'inspect'], ['push', '127.0.0.1:5000/fraud:v1.0.0']]);
    expect(contextDuringBuild).toEqual(['Dockerfile', 'app', 'registry']);
    expect(result).toMatchObject({ image: '127.0.0.1:5000/fraud:v1.0.0', digest, pushed: true, sizeBytes: 150_000_000, platforms: ['linux/arm64'] });
    // No --platform: the engine's own (arm64) decides which onnxruntime binaries go in.
    expect(result.context.dropped.map((entry) => entry.path)).toContain('node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
    expect(events.map((event) => event.type)).toEqual([
      'image-context', 'image-command', 'image-step', 'image-output', 'image-step', 'image-output', 'image-built', 'image-command', 'image-output', 'image-pushed',
    ]);
    expect(await readdir(join(work, 'image-work'))).toEqual([]);
  });

  it('stops before assembling anything when the engine does not answer', async () => {
    const runner = new RecordingRunner().on(['version'], { exitCode: 1, stdout: 'null\n', stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' });
    const exportModel = async () => {
      throw new Error('must not be called');
    };
    const attempt = buildImage({ docker: new Docker({ runner }), packageRoot: join(work, 'pkg'), model: { ...model, sha256: 'e'.repeat(64) }, exportModel, image: 'fraud', created: new Date(), workDir: join(work, 'image-work-2') });
    await expect(attempt).rejects.toThrow(/cannot connect to the Docker daemon/);
    expect(runner.commands).toHaveLength(1);
    expect(existsSync(join(work, 'image-work-2'))).toBe(false);
  });
});

describe('the real mlops package', () => {
  it('finds the same production packages as npm ls --omit=dev, at the same places', async () => {
    const { stdout } = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, reject: false });
    const fromNpm = stdout
      .split('\n')
      .filter((line) => line.startsWith(ROOT + '/'))
      .map((line) => relative(ROOT, line))
      .sort();
    expect(fromNpm.length).toBeGreaterThan(10);
    const graph = await collectProductionPackages(ROOT);
    const layout = [...layoutPackages(graph).keys()].sort();
    // The image leaves out type declarations (never loaded at run time) and what only they need.
    const typesOnly = new Set<string>();
    for (const path of fromNpm.filter((p) => /(^|\/)node_modules\/@types\//.test(p))) {
      typesOnly.add(path);
      const manifest = JSON.parse(readFileSync(join(ROOT, path, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      for (const dependency of Object.keys(manifest.dependencies ?? {})) typesOnly.add(`node_modules/${dependency}`);
    }
    expect(layout).toEqual(fromNpm.filter((p) => !typesOnly.has(p)));
    expect(layout).not.toContain('node_modules/vitest');
    expect(layout).toContain('node_modules/onnxruntime-node');
  });
});

describe('layoutPackages', () => {
  const pkg = (name: string, version: string, deps: PackageNode[] = []): PackageNode => ({
    name,
    version,
    dir: `/src/${name}@${version}`,
    dependencies: new Map(deps.map((dep) => [dep.name, dep])),
  });

  it('hoists what it can and nests only conflicting versions, deeper when needed', () => {
    const x1 = pkg('x', '1');
    const x2 = pkg('x', '2');
    const q1 = pkg('q', '1', [x1]);
    const q2 = pkg('q', '2');
    const p = pkg('p', '1', [q1, x2]);
    const root = pkg('root', '0', [p, q2, x1]);
    const layout = layoutPackages(root);
    const where = Object.fromEntries([...layout].map(([location, node]) => [location, `${node.name}@${node.version}`]));
    expect(where).toEqual({
      'node_modules/p': 'p@1',
      'node_modules/q': 'q@2',
      'node_modules/x': 'x@1',
      'node_modules/p/node_modules/q': 'q@1',
      'node_modules/p/node_modules/x': 'x@2',
      // q@1 under p would otherwise find p's x@2.
      'node_modules/p/node_modules/q/node_modules/x': 'x@1',
    });
  });

  it('survives a dependency cycle', () => {
    const a = pkg('a', '1');
    const b = pkg('b', '1', [a]);
    a.dependencies.set('b', b);
    expect([...layoutPackages(pkg('root', '0', [a])).keys()].sort()).toEqual(['node_modules/a', 'node_modules/b']);
  });
});

describe('platforms and the template', () => {
  it('maps docker platforms to onnxruntime folders and refuses the rest', () => {
    expect(onnxArchsFor(['linux/amd64'])).toEqual(['x64']);
    expect(onnxArchsFor(['linux/amd64', 'linux/arm64'])).toEqual(['x64', 'arm64']);
    for (const platform of ['windows/amd64', 'linux/arm/v7', 'linux']) {
      expect(() => onnxArchsFor([platform])).toThrow(UsageError);
    }
    expect(() => onnxArchsFor([])).toThrow(/platform/);
  });

  it('renders the shipped template and rejects one without the model placeholder', async () => {
    const template = await readFile(TEMPLATE, 'utf8');
    const rendered = renderDockerfile(template, model);
    expect(rendered).toMatch(/^ARG BASE_IMAGE=node:20-slim$/m);
    expect(rendered).toMatch(/^USER 10001:10001$/m);
    expect(rendered).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", ".*\/healthz/m);
    expect(rendered).toMatch(/^CMD \["node", "\/app\/bin\/mlops", "serve", "fraud@v1\.0\.0", .*"--no-watch"\]$/m);
    expect(rendered).not.toMatch(/^\s*RUN\b/m);
    expect(() => renderDockerfile('FROM node:20-slim\nCMD ["node"]\n', model)).toThrow(/\{\{MODEL\}\}/);
  });
});
