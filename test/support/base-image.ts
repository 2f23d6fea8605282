// Makes the Node base image for docker tests on the machine itself (no registry can be
// reached): this machine's node, the shared libraries it and onnxruntime's addon load,
// a passwd with a non-root user, /tmp and CA certificates, imported with `docker import`.
import { execa } from 'execa';
import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const TEST_BASE_IMAGE = 'mlops-test-base:node20';

export interface BaseImageOptions {
  /** Environment for docker (DOCKER_HOST). */
  env: Record<string, string | undefined>;
  /** The repository root: its onnxruntime-node addon decides which libraries go in. */
  root: string;
  image?: string;
}

/** Build the base image unless the engine already has it; returns true when it was built. */
export async function ensureBaseImage(options: BaseImageOptions): Promise<boolean> {
  const image = options.image ?? TEST_BASE_IMAGE;
  const inspect = await execa('docker', ['image', 'inspect', image], { env: options.env, reject: false });
  if (inspect.exitCode === 0) return false;

  const dir = await mkdtemp(join(tmpdir(), 'mlops-base-'));
  try {
    // mkdtemp makes the folder 0700 and tar records it as the image's /: a non-root
    // user could then reach nothing at all.
    await chmod(dir, 0o755);
    await populate(dir, options.root);
    const tarball = `${dir}.tar`;
    // Numeric root ownership whoever runs the tests: the image's files belong to root.
    await execa('tar', ['-C', dir, '--numeric-owner', '--owner=0', '--group=0', '-cf', tarball, '.']);
    try {
      // docker import leaves the config empty; node:20-slim sets this PATH too.
      await execa(
        'docker',
        ['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', tarball, image],
        { env: options.env },
      );
    } finally {
      await rm(tarball, { force: true });
    }
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function populate(dir: string, root: string): Promise<void> {
  const node = await realpath(process.execPath);
  // node:20-slim keeps node in /usr/local/bin; so does this image.
  await copyInto(dir, node, '/usr/local/bin/node');

  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const addon = join(root, `node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/onnxruntime_binding.node`);
  const libraries = new Set<string>();
  for (const binary of [node, addon]) {
    if (!existsSync(binary)) throw new Error(`base image: ${binary} is missing (npm install first)`);
    const { stdout } = await execa('ldd', [binary]);
    for (const path of stdout.match(/\/\S+/g) ?? []) {
      // libonnxruntime.so.1 ships inside node_modules (rpath $ORIGIN): the app layer brings it.
      if (!path.includes('onnxruntime')) libraries.add(path);
    }
  }
  for (const library of libraries) await copyInto(dir, library, library);

  await mkdir(join(dir, 'etc'), { recursive: true });
  // The same user node:20-slim has (node, 1000); the mlops image runs as 10001, which
  // needs no entry here: that is the point of a numeric USER.
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000::/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
  await mkdir(join(dir, 'tmp'));
  await chmod(join(dir, 'tmp'), 0o1777);
  await mkdir(join(dir, 'root'), { mode: 0o700 });
  const certificates = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(certificates)) await copyInto(dir, certificates, certificates, 0o644);
}

async function copyInto(dir: string, from: string, to: string, mode = 0o755): Promise<void> {
  const target = join(dir, to);
  await mkdir(dirname(target), { recursive: true });
  // Symlinked libraries (libc.so.6 -> libc-2.36.so) land as plain files under the link's name.
  await copyFile(await realpath(from), target);
  await chmod(target, mode);
}
