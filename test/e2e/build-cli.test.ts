// `mlops build` through the built CLI with a real docker engine and no kubeconfig at
// all: the image holds the model and its record without the reference rows, the
// registering machine's paths or user names, and it serves /predict read-only, with
// every capability dropped and no new privileges.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, mlops, tempDir } from '../support/cli.js';
import { dockerForTests } from '../support/docker-tests.js';
import { freePort } from '../support/prometheus.js';

const docker = dockerForTests();
const reason = docker.available ? undefined : `no docker engine: ${docker.skipReason}`;
if (reason && process.env.MLOPS_REQUIRE_INTEGRATION === '1') throw new Error(`MLOPS_REQUIRE_INTEGRATION=1 but ${reason}`);

describe.skipIf(reason !== undefined)(`mlops build${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const containers: string[] = [];
  const image = 'mlops-test/build-fraud:v1.0.0';
  const run = (args: string[], options: { reject?: boolean } = {}) => execa('docker', args, { env: docker.env, reject: options.reject ?? true });
  // No KUBECONFIG, no HOME/.kube: a CI job without cluster access; MLOPS_USER names a person.
  const env = () => ({ DOCKER_HOST: docker.env.DOCKER_HOST, KUBECONFIG: join(dir, 'no-such-kubeconfig'), MLOPS_USER: 'alice.secret-user', HOME: dir });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const result = await mlops(['--registry', join(dir, 'registry'), 'register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--version', 'v1.0.0', '--reference-data', join(EXAMPLE, 'reference.csv')], { cwd: dir, env: env() });
    if (result.exitCode !== 0) throw new Error(result.stderr);
  }, 120_000);
  afterAll(async () => {
    for (const name of containers) await run(['rm', '-f', name], { reject: false });
    await cleanup?.();
  });

  it('builds with no cluster: nothing in the image names the machine, the user or a reference row', async () => {
    const result = await mlops(['--registry', join(dir, 'registry'), 'build', 'fraud@v1.0.0', '--image', image, '--base-image', docker.baseImage, '--json'], { cwd: dir, env: env(), timeout: 600_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ model: 'fraud', version: 'v1.0.0', image, pushed: false });

    const metadata = [(await run(['history', '--no-trunc', image])).stdout, (await run(['image', 'inspect', image])).stdout].join('\n');
    const firstRow = (await readFile(join(EXAMPLE, 'reference.csv'), 'utf8')).split('\n')[1]!;
    for (const secret of [dir, EXAMPLE, 'alice.secret-user', firstRow.split(',')[0]!]) expect(metadata).not.toContain(secret);

    // Inside: the record keeps the reference summary (serve's out-of-range counts) but no rows.
    const listing = (await run(['run', '--rm', '--entrypoint', 'node', image, '-e', "const fs=require('fs');const walk=(d)=>fs.readdirSync(d,{withFileTypes:true}).flatMap((e)=>e.isDirectory()?walk(d+'/'+e.name):[d+'/'+e.name]);for(const f of walk('/app/registry'))console.log(f+' '+fs.statSync(f).size)"])).stdout;
    const blobs = listing.split('\n').filter((line) => line.includes('/blobs/'));
    expect(blobs).toHaveLength(1);
    const recordPath = listing.split('\n').map((line) => line.split(' ')[0]!).find((path) => path.endsWith('.yaml') && path.includes('/versions/'));
    expect(recordPath, listing).toBeDefined();
    const record = (await run(['run', '--rm', '--entrypoint', 'node', image, '-e', `process.stdout.write(require('fs').readFileSync('${recordPath!}','utf8'))`])).stdout;
    expect(record).toContain('columns:');
    expect(record).toContain('rows_in_image: false');
    for (const secret of [dir, EXAMPLE, 'alice.secret-user']) expect(record).not.toContain(secret);
  }, 600_000);

  it('serves /predict with --read-only --cap-drop ALL --security-opt no-new-privileges', async () => {
    const info = JSON.parse((await run(['image', 'inspect', '--format', '{{json .Config.Cmd}}', image])).stdout) as string[];
    const port = await freePort();
    const command = info.map((word, index) => (info[index - 1] === '--port' ? String(port) : word));
    const name = `mlops-test-build-${port}`;
    containers.push(name);
    await run(['run', '-d', '--name', name, '--network', 'host', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', image, ...command]);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(ready, (await run(['logs', name], { reject: false })).stderr).toBe(true);
    const features = (await readFile(join(EXAMPLE, 'current.csv'), 'utf8')).trim().split('\n')[1]!.split(',').map(Number);
    const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ model: 'fraud', version: 'v1.0.0' });
  }, 180_000);
});
