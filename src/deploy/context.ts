// Assembles the docker build context for `mlops deploy`: mlops with its production
// dependencies, one exported model version, and the Dockerfile rendered from templates/.
import { sanitizeExportedRegistry } from './image-record.js';
import { constants } from 'node:fs';
import { access, chmod, cp, lstat, mkdir, readFile, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { NotFoundError, UsageError, messageOf } from '../errors.js';

export interface ContextModel {
  name: string;
  version: string;
}

export interface AssembleContextOptions {
  /** The mlops package that goes into the image: holds package.json, bin/, dist/, templates/. */
  packageRoot: string;
  /** An empty folder to assemble in (the caller creates and removes it). */
  dir: string;
  model: ContextModel;
  /** Copies the one version (record + blobs) into a fresh registry folder at `destRegistryDir`. */
  exportModel: (destRegistryDir: string) => Promise<void>;
  /** docker platforms the image is for (linux/amd64, linux/arm64): picks onnxruntime's binaries. */
  platforms: readonly string[];
  /** Dockerfile template; packageRoot/templates/Dockerfile by default. */
  dockerfileTemplate?: string;
}

export interface BuildContext {
  dir: string;
  dockerfile: string;
  /** Production packages copied into app/node_modules. */
  packages: number;
  files: number;
  bytes: number;
  /** Platform binaries left out (onnxruntime for other systems), with their size. */
  dropped: { path: string; bytes: number }[];
  droppedBytes: number;
}

/** Where things go inside the context; the Dockerfile template COPYs these two folders. */
export const CONTEXT_APP_DIR = 'app';
export const CONTEXT_REGISTRY_DIR = 'registry';
export const MODEL_PLACEHOLDER = '{{MODEL}}';

export async function assembleContext(options: AssembleContextOptions): Promise<BuildContext> {
  const { packageRoot, dir } = options;
  const archs = onnxArchsFor(options.platforms);
  const appDir = join(dir, CONTEXT_APP_DIR);
  await checkBuilt(packageRoot);

  await mkdir(appDir, { recursive: true });
  await writeFile(join(appDir, 'package.json'), await productionManifest(packageRoot));
  for (const folder of ['bin', 'dist', 'templates']) {
    // Source maps point at src/, which the image does not carry.
    await copyTree(join(packageRoot, folder), join(appDir, folder), (path) => !path.endsWith('.map'));
  }

  const graph = await collectProductionPackages(packageRoot);
  const layout = layoutPackages(graph);
  const dropped: { path: string; bytes: number }[] = [];
  for (const [location, pkg] of layout) {
    const keep = platformFilter(pkg, archs);
    const skipped: string[] = [];
    await copyTree(pkg.dir, join(appDir, location), (path) => {
      const inside = relative(pkg.dir, path);
      // The package's own node_modules is rebuilt by the layout, not copied wholesale.
      if (inside === 'node_modules') return false;
      if (keep && !keep(inside)) {
        skipped.push(path);
        return false;
      }
      return true;
    });
    for (const path of skipped) dropped.push({ path: relative(packageRoot, path), bytes: await treeSize(path) });
  }

  await options.exportModel(join(dir, CONTEXT_REGISTRY_DIR));
  // The reference rows, the registering machine's paths and people's names stay out.
  await sanitizeExportedRegistry(join(dir, CONTEXT_REGISTRY_DIR));

  const template = options.dockerfileTemplate ?? join(packageRoot, 'templates', 'Dockerfile');
  const dockerfile = join(dir, 'Dockerfile');
  await writeFile(dockerfile, renderDockerfile(await readText(template, 'Dockerfile template'), options.model));

  // Files keep their owner's modes from the registry and node_modules; the image runs as
  // an unprivileged user, so everything must be world-readable (and nothing writable).
  const totals = await normalizeModes(dir);
  return {
    dir,
    dockerfile,
    packages: layout.size,
    files: totals.files,
    bytes: totals.bytes,
    dropped,
    droppedBytes: dropped.reduce((sum, entry) => sum + entry.bytes, 0),
  };
}

/** The template with NAME@VERSION in place of {{MODEL}} (comment lines are left as written). */
export function renderDockerfile(template: string, model: ContextModel): string {
  if (!template.includes(MODEL_PLACEHOLDER)) {
    throw new UsageError(
      `the Dockerfile template does not name the model (${MODEL_PLACEHOLDER})`,
      `put ${MODEL_PLACEHOLDER} where mlops serve takes NAME@VERSION in the CMD line`,
    );
  }
  return template
    .split('\n')
    .map((line) => (line.trimStart().startsWith('#') ? line : line.split(MODEL_PLACEHOLDER).join(`${model.name}@${model.version}`)))
    .join('\n');
}

// ---------------------------------------------------------------------------------------
// Platforms

/** onnxruntime-node's name for a docker platform's CPU: linux/amd64 -> x64. */
const ONNX_ARCH: Record<string, string> = { amd64: 'x64', arm64: 'arm64' };

/** The onnxruntime Linux CPU folders to keep for these docker platforms. */
export function onnxArchsFor(platforms: readonly string[]): string[] {
  if (platforms.length === 0) throw new UsageError('no target platform', 'pass --platform linux/amd64 or linux/arm64');
  const archs = new Set<string>();
  for (const platform of platforms) {
    const [os, arch] = platform.trim().split('/');
    const onnxArch = arch === undefined ? undefined : ONNX_ARCH[arch];
    if (os !== 'linux' || !onnxArch) {
      throw new UsageError(
        `unsupported platform '${platform}'`,
        'onnxruntime-node ships Linux binaries for amd64 and arm64: pass --platform linux/amd64 or linux/arm64',
        'invalid_platform',
      );
    }
    archs.add(onnxArch);
  }
  return [...archs];
}

/**
 * Which files of a package to keep for the target platform, or undefined to keep all.
 * onnxruntime-node carries its native library for every OS and CPU under
 * bin/napi-v<N>/<os>/<arch>/ (about 290 MB for all, 45 MB for linux/x64: measured on 1.30.0).
 */
function platformFilter(pkg: PackageNode, archs: readonly string[]): ((inside: string) => boolean) | undefined {
  if (pkg.name !== 'onnxruntime-node') return undefined;
  return (inside) => {
    const parts = inside.split(sep);
    if (parts[0] !== 'bin' || !/^napi-v\d+$/.test(parts[1] ?? '') || parts.length < 3) return true;
    if (parts[2] !== 'linux') return false;
    return parts.length < 4 || archs.includes(parts[3]!);
  };
}

// ---------------------------------------------------------------------------------------
// Production dependencies, found the way Node finds them

export interface PackageNode {
  name: string;
  version: string;
  /** Real path of the installed package folder. */
  dir: string;
  /** Dependency name -> the package Node would load for it from this package. */
  dependencies: Map<string, PackageNode>;
}

/**
 * The dependency graph of `packageRoot`'s production dependencies (dependencies,
 * optionalDependencies and peerDependencies, never devDependencies), resolved with
 * Node's node_modules lookup, so it works for a development checkout, a global install
 * and an install hoisted into someone's project alike.
 */
export async function collectProductionPackages(packageRoot: string): Promise<PackageNode> {
  const rootDir = await realpath(packageRoot);
  const rootManifest = await readManifest(rootDir);
  const root: PackageNode = { name: rootManifest.name ?? basename(rootDir), version: rootManifest.version ?? '', dir: rootDir, dependencies: new Map() };
  const byDir = new Map<string, PackageNode>([[rootDir, root]]);
  const queue: [PackageNode, Manifest][] = [[root, rootManifest]];
  while (queue.length > 0) {
    const [node, manifest] = queue.shift()!;
    const wanted: [string, boolean][] = [
      ...Object.keys(manifest.dependencies ?? {}).map((name): [string, boolean] => [name, true]),
      ...Object.keys(manifest.optionalDependencies ?? {}).map((name): [string, boolean] => [name, false]),
      ...Object.keys(manifest.peerDependencies ?? {}).map((name): [string, boolean] => [name, !manifest.peerDependenciesMeta?.[name]?.optional]),
    ];
    for (const [name, required] of wanted) {
      if (node.dependencies.has(name)) continue;
      // Type declarations are never loaded at run time (protobufjs lists @types/node as a dependency).
      if (name.startsWith('@types/')) continue;
      const found = await resolvePackage(node.dir, name);
      if (!found) {
        // npm installs peers, but older installs may lack them; a missing optional one is normal.
        if (required && manifest.dependencies?.[name] !== undefined) {
          throw new NotFoundError(
            `${node.name} needs '${name}', which is not installed`,
            `run npm install in ${packageRoot} (production dependencies go into the image)`,
          );
        }
        continue;
      }
      let child = byDir.get(found);
      if (!child) {
        const childManifest = await readManifest(found);
        child = { name, version: childManifest.version ?? '', dir: found, dependencies: new Map() };
        byDir.set(found, child);
        queue.push([child, childManifest]);
      }
      node.dependencies.set(name, child);
    }
  }
  return root;
}

async function resolvePackage(fromDir: string, name: string): Promise<string | undefined> {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', name);
      if (await exists(join(candidate, 'package.json'))) return realpath(candidate);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Place the graph into one node_modules tree (location -> package). The installed layout
 * is kept when it holds together without the development packages (a checkout, a global
 * install); otherwise (mlops hoisted into another project) each package is hoisted as
 * high as it goes without hiding another version someone needs, as npm does.
 */
export function layoutPackages(root: PackageNode): Map<string, PackageNode> {
  return mirroredLayout(root) ?? hoistedLayout(root);
}

function allPackages(root: PackageNode): PackageNode[] {
  const seen = new Set<PackageNode>([root]);
  const queue = [root];
  for (let index = 0; index < queue.length; index++) {
    for (const dependency of queue[index]!.dependencies.values()) {
      if (!seen.has(dependency)) {
        seen.add(dependency);
        queue.push(dependency);
      }
    }
  }
  return queue.slice(1);
}

/** Each package where it is installed, relative to the node_modules that holds it. */
function mirroredLayout(root: PackageNode): Map<string, PackageNode> | undefined {
  const bases: string[] = [];
  for (let dir = root.dir; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') bases.push(dir);
    if (dirname(dir) === dir) break;
  }
  const placed = new Map<string, PackageNode>();
  for (const node of allPackages(root)) {
    const base = bases.find((dir) => node.dir.startsWith(join(dir, 'node_modules') + sep));
    if (!base) return undefined;
    const location = relative(base, node.dir).split(sep).join('/');
    if (placed.has(location)) return undefined;
    placed.set(location, node);
  }
  return brokenEdges(root, placed).length === 0 ? placed : undefined;
}

function resolveIn(placed: Map<string, PackageNode>, location: string, name: string): PackageNode | undefined {
  for (let at = location; ; at = parentLocation(at)) {
    const found = placed.get(joinLocation(at, name));
    if (found) return found;
    if (at === '') return undefined;
  }
}

/** Edges Node would resolve to another package (or to none) in this layout. */
function brokenEdges(root: PackageNode, placed: Map<string, PackageNode>): [string, string, PackageNode][] {
  const broken: [string, string, PackageNode][] = [];
  for (const [location, node] of [['', root] as [string, PackageNode], ...placed]) {
    for (const [name, dependency] of node.dependencies) {
      if (resolveIn(placed, location, name) !== dependency) broken.push([location, name, dependency]);
    }
  }
  return broken;
}

function hoistedLayout(root: PackageNode): Map<string, PackageNode> {
  const placed = new Map<string, PackageNode>();
  const visit = (location: string, node: PackageNode, queue: [string, PackageNode][]) => {
    for (const [name, dependency] of [...node.dependencies].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const current = resolveIn(placed, location, name);
      if (current === dependency) continue;
      // Nothing by that name above: hoist to the top. Another version above: nest here.
      const at = joinLocation(current === undefined ? '' : location, name);
      if (placed.size > MAX_PLACEMENTS) throw new Error('could not lay out node_modules for the image: the dependency tree does not settle');
      placed.set(at, dependency);
      queue.push([at, dependency]);
    }
  };
  const queue: [string, PackageNode][] = [['', root]];
  while (queue.length > 0) {
    const [location, node] = queue.shift()!;
    visit(location, node, queue);
  }
  // A package nested later can hide a hoisted one from packages placed earlier below it;
  // give each such package its own copy, closest to it, until every edge resolves.
  for (let round = 0; round < 20; round++) {
    const broken = brokenEdges(root, placed);
    if (broken.length === 0) return placed;
    for (const [location, name, dependency] of broken) placed.set(joinLocation(location, name), dependency);
  }
  throw new Error('could not lay out node_modules for the image: the dependency tree keeps conflicting');
}

// Far above any real tree (mlops has 64 production packages) but stops a pathological cycle.
const MAX_PLACEMENTS = 20_000;

function joinLocation(location: string, name: string): string {
  return location === '' ? `node_modules/${name}` : `${location}/node_modules/${name}`;
}

/** node_modules/a/node_modules/@s/b -> node_modules/a; node_modules/a -> '' */
function parentLocation(location: string): string {
  const index = location.lastIndexOf('/node_modules/');
  return index < 0 ? '' : location.slice(0, index);
}

// ---------------------------------------------------------------------------------------
// Files

interface Manifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

async function readManifest(dir: string): Promise<Manifest> {
  const text = await readText(join(dir, 'package.json'), 'package.json');
  try {
    return JSON.parse(text) as Manifest;
  } catch (error) {
    throw new UsageError(`${join(dir, 'package.json')} is not valid JSON: ${messageOf(error)}`, 'reinstall the package (npm install)');
  }
}

/** package.json without what only development needs (scripts would run nothing in the image). */
async function productionManifest(packageRoot: string): Promise<string> {
  const { devDependencies: _dev, scripts: _scripts, ...manifest } = await readManifest(packageRoot);
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

async function checkBuilt(packageRoot: string): Promise<void> {
  const main = join(packageRoot, 'dist', 'cli', 'main.js');
  if (!(await exists(main))) {
    throw new NotFoundError(`mlops is not built: ${main} is missing`, `run \`npm run build\` in ${packageRoot}`);
  }
  if (!(await exists(join(packageRoot, 'bin', 'mlops')))) {
    throw new NotFoundError(`${join(packageRoot, 'bin', 'mlops')} is missing`, 'reinstall mlops');
  }
}

async function copyTree(from: string, to: string, filter: (path: string) => boolean): Promise<void> {
  if (!(await exists(from))) return;
  await cp(from, to, { recursive: true, dereference: true, filter: (source) => filter(source) });
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new NotFoundError(`cannot read the ${what} ${path}: ${messageOf(error)}`, 'reinstall mlops or check the path');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function treeSize(path: string): Promise<number> {
  const info = await lstat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await treeSize(join(path, entry));
  return total;
}

/** 0644 for files (0755 when executable), 0755 for folders; returns file count and bytes. */
async function normalizeModes(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      await chmod(path, 0o755);
      for (const entry of await readdir(path)) await walk(join(path, entry));
      return;
    }
    files += 1;
    bytes += info.size;
    await chmod(path, info.mode & 0o111 ? 0o755 : 0o644);
  };
  await walk(dir);
  return { files, bytes };
}
