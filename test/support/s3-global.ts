// vitest globalSetup: a real S3 server (Ceph RADOS Gateway, test/support/s3-server.ts)
// started once per run of the integration project and stopped at its end. Tests read it
// through test/support/s3-tests.ts. Without the ceph programs or root the S3 tests skip,
// unless MLOPS_REQUIRE_INTEGRATION=1, which turns that into a failure.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { skipOrFail } from './integration.js';
import { CEPH_PROGRAMS, s3ServerPids, startS3Server, type S3Server } from './s3-server.js';

export interface S3Config {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test S3 server answers. */
    s3Available: boolean;
    /** Why S3 tests skip, when s3Available is false. */
    s3SkipReason: string;
    /** Where the test S3 server listens and its keys. */
    s3Config: S3Config;
  }
}

function installed(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, program)));
}

function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

export default async function setup({ provide }: TestProject): Promise<(() => Promise<void>) | undefined> {
  const unavailable = (reason: string) => {
    const skipReason = skipOrFail(`S3 tests need the Ceph RADOS Gateway: ${reason}`);
    provide('s3Available', false);
    provide('s3SkipReason', skipReason);
    provide('s3Config', { endpoint: '', region: '', accessKeyId: '', secretAccessKey: '' });
    return undefined;
  };

  const missing = CEPH_PROGRAMS.filter((program) => !installed(program));
  if (missing.length > 0) {
    return unavailable(`${missing.join(', ')} not installed (apt-get install -y ceph-mon ceph-osd radosgw ceph-common)`);
  }
  if (process.getuid?.() !== 0) return unavailable('starting the Ceph daemons needs root');

  const started = Date.now();
  let server: S3Server;
  try {
    server = await startS3Server();
  } catch (error) {
    return unavailable(error instanceof Error ? error.message : String(error));
  }
  const memory = s3ServerPids(server).map((pid) => rssMiB(pid)).reduce((a, b) => a + b, 0);
  console.info(`[s3-server] Ceph RGW at ${server.endpoint} started in ${((Date.now() - started) / 1000).toFixed(1)} s, daemons ${memory} MiB RSS`);
  provide('s3Available', true);
  provide('s3SkipReason', '');
  provide('s3Config', { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
  return async () => {
    const stopping = Date.now();
    await server.stop();
    console.info(`[s3-server] stopped the Ceph daemons and removed their folder in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
  };
}
