// A real S3 server for tests: a one-node Ceph cluster (one monitor, one memstore OSD,
// no cephx, pool size 1) with the RADOS Gateway in front, all in one temp folder.
//
// Nothing of it lives at Ceph's default paths (/etc/ceph, /var/lib/ceph, /var/run/ceph):
// config, mon and OSD data, keyring, run dir, admin sockets, pid files and logs are
// under the folder, every ceph command gets `-c` and CEPH_CONF, and the monitor (v2 and
// v1) and gateway ports are picked free at run time, so two test runs coexist (checked
// by running the integration test twice at once). The OSD binds a free port of Ceph's
// own range (6800-7300). The daemons run in the foreground (-f) as our children and are
// killed at stop(), on the exit of this process if stop() was never called, and by the
// kernel (setpriv --pdeathsig) when this process is killed; a later start removes the
// folders of runs whose process is gone.
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3 */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The programs startS3Server runs (Debian: ceph-mon ceph-osd radosgw ceph-common). */
export const CEPH_PROGRAMS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'ceph-authtool', 'monmaptool'] as const;

// The whole cluster answered in ~12 s here; a loaded two-core machine gets a wide margin.
const START_TIMEOUT_MS = 60_000;
const REGION = 'us-east-1';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function cephConf(dir: string, fsid: string, monV2: number, monV1: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = ${dir}/keyring
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
mon cluster log file = ${dir}/log/cluster.log
crash dir = ${dir}/crash
mon data = ${dir}/mon.$id
osd data = ${dir}/osd.$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# A shared disk that is 95 % full must not stop the test monitor.
mon data avail warn = 1
mon data avail crit = 0
# radosgw creates its pools one by one at first start, each waiting for a map proposal:
# a shorter propose interval than the default 1 s.
paxos propose interval = 0.1

[client.rgw]
rgw data = ${dir}/rgw
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
# Without cephx the gateway's default (secure) messenger mode finds no method and
# the monitor refuses it (-13); crc is what the ceph CLI uses here.
ms mon client mode = crc
ms client mode = crc
`;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: boolean;
  exit: Promise<void>;
}

const running = new Set<Daemon>();
const daemonsOf = new WeakMap<S3Server, Daemon[]>();

/** The process ids of a started server's daemons (for measuring their memory). */
export function s3ServerPids(server: S3Server): number[] {
  return (daemonsOf.get(server) ?? []).filter((daemon) => !daemon.exited).map((daemon) => daemon.child.pid ?? 0);
}
let exitHookInstalled = false;
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed or forgotten test run must not leave Ceph daemons behind.
  process.once('exit', () => {
    for (const daemon of running) if (!daemon.exited) daemon.child.kill('SIGKILL');
  });
}

function logTail(dir: string, lines = 8): string {
  const logDir = join(dir, 'log');
  if (!existsSync(logDir)) return '';
  return readdirSync(logDir)
    .filter((file) => file.endsWith('.log') || file.endsWith('.out'))
    .sort()
    .map((file) => {
      const tail = readFileSync(join(logDir, file), 'utf8').trim().split('\n').slice(-lines).join('\n');
      return tail === '' ? '' : `--- ${file}\n${tail}`;
    })
    .filter((text) => text !== '')
    .join('\n');
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
const TMP_PREFIX = 'mlops-ceph-';
const OWNER_FILE = 'owner.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove the folders of earlier runs whose test process died without stop(). */
async function removeOrphanFolders(): Promise<void> {
  for (const name of readdirSync('/tmp').filter((entry) => entry.startsWith(TMP_PREFIX))) {
    const dir = join('/tmp', name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // being set up by another run, or not ours
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) await rm(dir, { recursive: true, force: true });
  }
}

async function startOnce(): Promise<S3Server> {
  await removeOrphanFolders();
  // Short: admin socket paths must fit a unix socket address (108 bytes).
  const dir = await mkdtemp(`/tmp/${TMP_PREFIX}`);
  const conf = join(dir, 'ceph.conf');
  const env = { ...process.env, CEPH_CONF: conf };
  const deadline = Date.now() + START_TIMEOUT_MS;
  const remaining = () => Math.max(1_000, deadline - Date.now());
  const daemons: Daemon[] = [];

  const spawnDaemon = (name: string, file: string, args: string[]): Daemon => {
    const out = openSync(join(dir, 'log', `${name}.out`), 'a');
    let child: ChildProcess;
    try {
      // setpriv --pdeathsig: the kernel kills the daemon when this process dies, even by
      // SIGKILL, where no exit handler runs.
      const argv = ['-f', '-c', conf, ...args];
      child = SETPRIV
        ? spawn(SETPRIV, ['--pdeathsig', 'KILL', file, ...argv], { stdio: ['ignore', out, out], env })
        : spawn(file, argv, { stdio: ['ignore', out, out], env });
    } finally {
      closeSync(out);
    }
    const daemon: Daemon = { name, child, exited: false, exit: Promise.resolve() };
    daemon.exit = new Promise<void>((done) => {
      child.once('exit', () => { daemon.exited = true; running.delete(daemon); done(); });
      child.once('error', () => { daemon.exited = true; running.delete(daemon); done(); });
    });
    daemons.push(daemon);
    running.add(daemon);
    killAllOnExit();
    return daemon;
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // SIGKILL: the data is thrown away anyway, and on SIGTERM a memstore OSD first
    // writes every object it holds to its data folder.
    for (const daemon of daemons) if (!daemon.exited) daemon.child.kill('SIGKILL');
    await Promise.all(daemons.map((daemon) => daemon.exit));
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  const fail = async (what: string): Promise<never> => {
    const dead = daemons.filter((daemon) => daemon.exited).map((daemon) => daemon.name);
    const tail = logTail(dir);
    await stop();
    throw new Error(`the test S3 server (Ceph RGW in ${dir}) ${what}${dead.length > 0 ? ` (exited: ${dead.join(', ')})` : ''}:\n${tail}`);
  };

  const run = async (file: string, args: string[]) => {
    const result = await execa(file, args, { env, reject: false, timeout: remaining(), all: true });
    if (result.exitCode !== 0) return fail(`could not run ${file} ${args.join(' ')}: ${result.all ?? ''}`.trim());
    return result.stdout;
  };

  try {
    const [monV2, monV1, rgwPort] = await distinctFreePorts(3) as [number, number, number];
    const fsid = randomUUID();
    for (const sub of ['run', 'log', 'crash', 'mon.a', 'osd.0', 'rgw']) await mkdir(join(dir, sub));
    await writeFile(conf, cephConf(dir, fsid, monV2, monV1, rgwPort));
    await writeFile(join(dir, OWNER_FILE), String(process.pid));

    await run('ceph-authtool', ['--create-keyring', join(dir, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    // An explicit monmap: built from `mon host` alone, the monitor binds 3300/6789.
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`, join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', join(dir, 'keyring')]);
    spawnDaemon('mon.a', 'ceph-mon', ['-i', 'a']);

    const osdUuid = randomUUID();
    const osdId = (await run('ceph', ['-c', conf, '--connect-timeout', String(Math.ceil(remaining() / 1000)), 'osd', 'new', osdUuid])).trim();
    await run('ceph-osd', ['-c', conf, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    spawnDaemon(`osd.${osdId}`, 'ceph-osd', ['-i', osdId]);
    spawnDaemon('rgw', 'radosgw', ['-n', 'client.rgw']);

    const endpoint = `http://127.0.0.1:${rgwPort}`;
    let answered = false;
    while (Date.now() < deadline && !daemons.some((daemon) => daemon.exited)) {
      try {
        const response = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(5_000) });
        await response.arrayBuffer();
        if (response.status === 200) { answered = true; break; }
      } catch {
        // not listening yet
      }
      await new Promise((done) => setTimeout(done, 250));
    }
    if (!answered) {
      return await fail(daemons.some((daemon) => daemon.exited) ? 'did not start' : `did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000} s`);
    }

    const accessKeyId = `MLOPS${randomBytes(8).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(24).toString('base64url');
    await run('radosgw-admin', ['-c', conf, 'user', 'create', '--uid', 'mlops-test', '--display-name', 'mlops-test', '--access-key', accessKeyId, '--secret', secretAccessKey]);

    const server: S3Server = {
      endpoint,
      region: REGION,
      accessKeyId,
      secretAccessKey,
      env: {
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL_S3: endpoint,
      },
      stop,
    };
    daemonsOf.set(server, daemons);
    return server;
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Start a one-node Ceph cluster with the RADOS Gateway on a free port of 127.0.0.1.
 * Throws with the daemons' log tails when it does not answer within 60 s. One retry:
 * a port picked free can be taken by another test run before the monitor binds it.
 */
export async function startS3Server(): Promise<S3Server> {
  try {
    return await startOnce();
  } catch (first) {
    const message = first instanceof Error ? first.message : String(first);
    if (!/address already in use|unable to bind|failed to bind/i.test(message)) throw first;
    return startOnce();
  }
}
