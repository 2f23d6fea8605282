// One deploy (or rollback) of a model at a time: a coordination.k8s.io Lease named
// `<app>-deploy`, taken with `kubectl create` (atomic: the second one gets AlreadyExists)
// and released with a delete. A lease left by a killed CLI expires after its duration
// and is then taken over with a `kubectl replace` that carries its resourceVersion, so
// two deploys racing for an expired lease cannot both win.
import { ConflictError, ToolFailedError } from '../errors.js';
import { Kubectl, environmentError, kubectlCommands, kubectlMessage, redact } from '../tools/kubectl.js';
import { obj } from './bluegreen-health.js';

export interface DeployLock {
  name: string;
  holder: string;
  release(): Promise<void>;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

export function leaseName(app: string): string {
  return `${app}-deploy`;
}

function leaseManifest(app: string, holder: string, durationSeconds: number, now: Date, resourceVersion?: string): string {
  return JSON.stringify({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: leaseName(app), labels: { app, 'app.kubernetes.io/managed-by': 'mlops' }, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now) },
  });
}

function busy(app: string, namespace: string, lease: Record<string, unknown>, what: string): ConflictError {
  const spec = obj(lease.spec);
  const since = typeof spec.acquireTime === 'string' ? spec.acquireTime.replace(/\.\d+Z$/, 'Z') : 'an unknown time';
  const until = typeof spec.renewTime === 'string' ? new Date(Date.parse(spec.renewTime) + Number(spec.leaseDurationSeconds ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : 'its expiry';
  return new ConflictError(
    `another deploy of ${app} is running (${String(spec.holderIdentity ?? 'unknown holder')}, since ${since}); this ${what} was refused and nothing was changed`,
    `wait for it to finish and try again; if it was killed, its lock expires at ${until}, or remove it: kubectl delete lease ${leaseName(app)} --namespace ${namespace}`,
    'deploy_running',
  );
}

/**
 * Takes the lock or throws ConflictError ("another deploy is running", exit 2).
 * `durationSeconds` should cover the whole rollout, scale-down delay included.
 */
export async function acquireDeployLock(kubectl: Kubectl, app: string, options: { holder: string; durationSeconds: number; now: () => Date; what: 'deploy' | 'rollback' }): Promise<DeployLock> {
  const { holder, durationSeconds, now } = options;
  const name = leaseName(app);
  const namespace = kubectl.target.namespace;
  const lock: DeployLock = {
    name,
    holder,
    release: async () => {
      await kubectl.run(kubectlCommands.deleteLease(kubectl.target, name)).catch(() => undefined);
    },
  };
  const created = await kubectl.run(kubectlCommands.create(kubectl.target, leaseManifest(app, holder, durationSeconds, now())));
  if (created.exitCode === 0) return lock;
  const environment = environmentError(created.stderr, kubectl.target);
  if (environment) throw environment;
  if (!/AlreadyExists/.test(created.stderr)) {
    throw new ToolFailedError('kubectl', `cannot take the deploy lock (lease ${name}): ${kubectlMessage(created.stderr)}`, 'the deploying user needs create/delete on leases.coordination.k8s.io in this namespace', redact(created.stderr));
  }
  const lease = await kubectl.readJson(kubectlCommands.getLease(kubectl.target, name));
  if (!lease) return acquireDeployLock(kubectl, app, options); // released in between: try again
  const spec = obj(lease.spec);
  const renewed = typeof spec.renewTime === 'string' ? Date.parse(spec.renewTime) : NaN;
  const expired = Number.isFinite(renewed) && renewed + Number(spec.leaseDurationSeconds ?? 0) * 1000 < now().getTime();
  if (!expired) throw busy(app, namespace, lease, options.what);
  const resourceVersion = String(obj(lease.metadata).resourceVersion ?? '');
  const taken = await kubectl.run(kubectlCommands.replace(kubectl.target, leaseManifest(app, holder, durationSeconds, now(), resourceVersion)));
  if (taken.exitCode === 0) return lock;
  if (/Conflict|has been modified/.test(taken.stderr)) throw busy(app, namespace, lease, options.what);
  throw new ToolFailedError('kubectl', `cannot take over the expired deploy lock (lease ${name}): ${kubectlMessage(taken.stderr)}`, undefined, redact(taken.stderr));
}
