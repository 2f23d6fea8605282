// The fake API server's deployment controller: after a spec change it "observes" the
// Deployment, then marks every replica ready (unless a test said it never will), and it
// synthesizes the pods that the Deployment's status describes.
import { createHash } from 'node:crypto';
import { clone, isObject, type JsonObject } from './fake-kube-patch.js';
import { metaOf, specOf, withoutZeros, type KubeStore } from './fake-kube-store.js';

export class DeploymentController {
  private readonly stuck = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();

  constructor(
    private readonly store: KubeStore,
    private readonly delayMs: number,
  ) {
    store.onChange((entry, key) => {
      if (entry.type === 'DELETED' && entry.resource === 'deployments') this.cancel(key);
    });
  }

  /** The deployment's pods never become ready, so `kubectl rollout status` times out. */
  neverReady(namespace: string, name: string): void {
    this.stuck.add(`${namespace}/${name}`);
  }

  /** Undoes neverReady: the next spec change rolls out normally. */
  readyAgain(namespace: string, name: string): void {
    this.stuck.delete(`${namespace}/${name}`);
  }

  stop(): void {
    for (const list of this.timers.values()) for (const timer of list) clearTimeout(timer);
    this.timers.clear();
  }

  private cancel(key: string): void {
    for (const timer of this.timers.get(key) ?? []) clearTimeout(timer);
    this.timers.delete(key);
  }

  schedule(namespace: string, name: string): void {
    const key = this.store.key('deployments', namespace, name);
    for (const timer of this.timers.get(key) ?? []) clearTimeout(timer);
    const stuck = this.stuck.has(`${namespace}/${name}`);
    const observe = setTimeout(() => this.progress(namespace, name, false), this.delayMs);
    const timers = [observe];
    if (!stuck) timers.push(setTimeout(() => this.progress(namespace, name, true), 2 * this.delayMs));
    this.timers.set(key, timers);
  }

  private progress(namespace: string, name: string, ready: boolean): void {
    const current = this.store.raw('deployments', namespace, name);
    if (!current) return;
    const object = clone(current);
    const meta = metaOf(object);
    const replicas = Number(specOf(object).replicas ?? 1);
    const readyCount = ready ? replicas : 0;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    object.status = withoutZeros({
      observedGeneration: meta.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: readyCount,
      availableReplicas: readyCount,
      unavailableReplicas: replicas - readyCount,
    });
    (object.status as JsonObject).conditions = [
      {
        type: 'Available',
        status: readyCount === replicas ? 'True' : 'False',
        reason: readyCount === replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        message: readyCount === replicas ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
        lastUpdateTime: now,
        lastTransitionTime: now,
      },
      {
        type: 'Progressing',
        status: 'True',
        reason: ready ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        message: `ReplicaSet "${name}-${this.templateHash(object)}" ${ready ? 'has successfully progressed' : 'is progressing'}.`,
        lastUpdateTime: now,
        lastTransitionTime: now,
      },
    ];
    this.store.save('deployments', namespace, object, 'controller');
  }

  private templateHash(deployment: JsonObject): string {
    return createHash('sha256').update(JSON.stringify(specOf(deployment).template ?? {})).digest('hex').slice(0, 10).replace(/[0-3]/g, 'b');
  }

  /** Pods as the deployment's status says they are: status.replicas pods, readyReplicas of them Ready. */
  pods(namespace: string | undefined): JsonObject[] {
    const pods: JsonObject[] = [];
    for (const deployment of this.store.list('deployments', namespace)) {
      const meta = metaOf(deployment);
      const status = isObject(deployment.status) ? deployment.status : {};
      const template = isObject(specOf(deployment).template) ? (specOf(deployment).template as JsonObject) : {};
      const templateMeta = isObject(template.metadata) ? template.metadata : {};
      const hash = this.templateHash(deployment);
      const count = Number(status.replicas ?? 0);
      const ready = Number(status.readyReplicas ?? 0);
      for (let index = 0; index < count; index += 1) {
        const isReady = index < ready ? 'True' : 'False';
        pods.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${String(meta.name)}-${hash}-${String(index).padStart(5, 'x')}`,
            namespace: meta.namespace,
            uid: createHash('md5').update(`${String(meta.uid)}/${index}`).digest('hex'),
            labels: { ...(isObject(templateMeta.labels) ? templateMeta.labels : {}), 'pod-template-hash': hash },
            annotations: isObject(templateMeta.annotations) ? templateMeta.annotations : {},
            resourceVersion: meta.resourceVersion,
          },
          spec: clone(template.spec ?? {}),
          status: {
            phase: 'Running',
            conditions: [
              { type: 'PodScheduled', status: 'True' },
              { type: 'Initialized', status: 'True' },
              { type: 'ContainersReady', status: isReady },
              { type: 'Ready', status: isReady },
            ],
          },
        });
      }
    }
    return pods;
  }
}
