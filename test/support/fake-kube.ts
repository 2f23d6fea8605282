// An in-memory Kubernetes API server that the real kubectl talks to through a temp
// kubeconfig: the HTTP side (routing, create/update/patch/scale, watches, a request log,
// injected failures). Storage and admission live in fake-kube-store.ts, the deployment
// controller in fake-kube-controller.ts, discovery in fake-kube-discovery.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { clone, isObject, jsonPatch, mergePatch, PatchError, strategicMergePatch, type JsonObject } from './fake-kube-patch.js';
import { DeploymentController } from './fake-kube-controller.js';
import { discovery as discoveryDocument } from './fake-kube-discovery.js';
import {
  API_VERSION,
  ApiError,
  GROUP,
  invalid,
  KIND,
  KubeStore,
  metaOf,
  notFound,
  qualified,
  RESOURCE_NAMES,
  selectorMatcher,
  specOf,
  withoutZeros,
  type HistoryEntry,
  type ResourceName,
  type StateChange,
} from './fake-kube-store.js';

export { parseLabelSelector, type ResourceName, type StateChange } from './fake-kube-store.js';

export interface RecordedRequest {
  /** Shared with `changes`, so tests can order requests against state changes. */
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  accept?: string;
  body?: unknown;
  status?: number;
}

export interface FailureRule {
  method?: string;
  /** Exact request path (no query) or a pattern tested against it. */
  path: string | RegExp;
  status: number;
  reason?: string;
  message?: string;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface FakeKubeOptions {
  /** Namespaces that exist; default ['default']. */
  namespaces?: string[];
  /** Delay of each controller step (observe, then ready); default 50 ms. */
  controllerDelayMs?: number;
}

interface Watcher {
  resource: ResourceName | 'pods';
  namespace?: string;
  matches: (object: JsonObject) => boolean;
  res: ServerResponse;
}

export class FakeKube {
  readonly requests: RecordedRequest[] = [];
  url = '';

  private server: Server | undefined;
  private readonly store = new KubeStore();
  private readonly controller: DeploymentController;
  private readonly watchers = new Set<Watcher>();
  private readonly failures: FailureRule[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(options: FakeKubeOptions) {
    this.controller = new DeploymentController(this.store, options.controllerDelayMs ?? 50);
    this.store.onChange((entry) => {
      this.notify(entry);
      if (entry.resource === 'deployments') this.notifyPods(entry.namespace);
    });
    for (const name of options.namespaces ?? ['default']) this.addNamespace(name);
  }

  /** Every change to stored objects, in order (controller status updates included). */
  get changes(): StateChange[] {
    return this.store.changes;
  }

  static async start(options: FakeKubeOptions = {}): Promise<FakeKube> {
    const fake = new FakeKube(options);
    const server = createServer((req, res) => void fake.handle(req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    fake.server = server;
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  async stop(): Promise<void> {
    this.controller.stop();
    for (const watcher of this.watchers) watcher.res.end();
    this.watchers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * Writes a kubeconfig whose context `fake` points here, and returns the env that
   * kubectl needs: KUBECONFIG, and KUBECACHEDIR so the discovery cache stays in `dir`.
   */
  async writeKubeconfig(dir: string, { server = this.url, namespace = 'default' } = {}): Promise<{ KUBECONFIG: string; KUBECACHEDIR: string }> {
    return writeKubeconfig(dir, server, namespace);
  }

  // ---- test controls -------------------------------------------------------------

  addNamespace(name: string): void {
    this.save('namespaces', undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    }, 'controller');
  }

  /** The deployment's pods never become ready, so `kubectl rollout status` times out. */
  /** The deployment's pods never become ready, so `kubectl rollout status` times out. */
  neverReady(namespace: string, name: string): void {
    this.controller.neverReady(namespace, name);
  }

  /** Undoes neverReady for the deployment's next rollout. */
  readyAgain(namespace: string, name: string): void {
    this.controller.readyAgain(namespace, name);
  }

  /** Makes matching requests answer with an error Status. */
  fail(rule: FailureRule): void {
    this.failures.push({ times: 1, ...rule });
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.store.get(resource, namespace, name);
  }

  list(resource: ResourceName, namespace?: string): JsonObject[] {
    return this.store.list(resource, namespace);
  }

  /** Requests that changed something (not GET), in order; handy for assertions. */
  writes(): RecordedRequest[] {
    return this.requests.filter((request) => request.method !== 'GET');
  }

  private save(resource: ResourceName, namespace: string | undefined, object: JsonObject, cause: number | 'controller'): JsonObject {
    return this.store.save(resource, namespace, object, cause);
  }

  // ---- watch notifications -------------------------------------------------------

  private notify(entry: HistoryEntry): void {
    for (const watcher of this.watchers) {
      if (watcher.resource !== entry.resource) continue;
      if (watcher.namespace !== undefined && watcher.namespace !== entry.namespace) continue;
      if (!watcher.matches(entry.object)) continue;
      watcher.res.write(`${JSON.stringify({ type: entry.type, object: entry.object })}\n`);
    }
  }

  private notifyPods(namespace: string | undefined): void {
    // Pods are synthesized, so a pod watcher just sees the current set as MODIFIED.
    for (const watcher of this.watchers) {
      if (watcher.resource !== 'pods' || (watcher.namespace !== undefined && watcher.namespace !== namespace)) continue;
      for (const pod of this.controller.pods(namespace)) {
        if (watcher.matches(pod)) watcher.res.write(`${JSON.stringify({ type: 'MODIFIED', object: pod })}\n`);
      }
    }
  }
  // ---- HTTP ----------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    let body: unknown;
    if (text) {
      try {
        body = contentType?.includes('yaml') ? parseYaml(text) : JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const record: RecordedRequest = {
      seq: this.store.nextSeq(),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType,
      accept: req.headers.accept,
      body,
    };
    this.requests.push(record);
    const reply = (status: number, payload: unknown) => {
      record.status = status;
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(payload));
    };
    try {
      const rule = this.failures.find(
        (candidate) =>
          (candidate.times ?? 1) > 0 &&
          (!candidate.method || candidate.method === record.method) &&
          (typeof candidate.path === 'string' ? candidate.path === record.path : candidate.path.test(record.path)),
      );
      if (rule) {
        rule.times = (rule.times ?? 1) - 1;
        throw new ApiError(rule.status, rule.reason ?? 'InternalError', rule.message ?? 'injected failure');
      }
      if (record.query.watch === 'true' || record.query.watch === '1') {
        record.status = 200;
        this.watch(record, res);
        return;
      }
      const [status, payload] = this.route(record, text);
      reply(status, payload);
    } catch (error) {
      if (error instanceof ApiError) {
        reply(error.code, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: error.message,
          reason: error.reason,
          ...(error.details ? { details: error.details } : {}),
          code: error.code,
        });
      } else {
        reply(500, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: String(error), reason: 'InternalError', code: 500 });
      }
    }
  }

  private route(request: RecordedRequest, rawBody: string): [number, unknown] {
    const { method, path } = request;
    const discovery = discoveryDocument(path, this.url);
    if (discovery) {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return [200, discovery];
    }
    const parts = path.split('/').filter(Boolean);
    // /api/v1/... or /apis/apps/v1/...
    // /api/v1/... or /apis/GROUP/VERSION/...
    const group = parts[0] === 'api' && parts[1] === 'v1' ? '' : parts[0] === 'apis' && parts.length >= 3 ? parts[1] : undefined;
    const rest = group === '' ? parts.slice(2) : group !== undefined ? parts.slice(3) : undefined;
    if (!rest) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    let namespace: string | undefined;
    let resource: string | undefined;
    let name: string | undefined;
    let subresource: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      [, namespace, resource, name, subresource] = rest;
    } else {
      [resource, name, subresource] = rest;
    }
    const known = resource === 'pods' ? group === '' : RESOURCE_NAMES.includes(resource as ResourceName) && API_VERSION[resource as ResourceName] === (group ? `${group}/${parts[2] ?? ''}` : 'v1');
    if (!known) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (resource === 'pods') {
      if (method !== 'GET' || name) throw new ApiError(405, 'MethodNotAllowed', 'the fake only lists pods');
      const pods = this.controller.pods(namespace).filter(selectorMatcher(request.query));
      return [200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.store.resourceVersion) }, items: pods }];
    }
    const kind = resource as ResourceName;
    if (kind !== 'namespaces' && namespace === undefined && (name || method !== 'GET')) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (!name) {
      if (method === 'GET') return [200, this.listResponse(kind, namespace, request.query)];
      if (method === 'POST') return [201, this.create(kind, namespace, request, rawBody)];
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    if (subresource === 'scale' && kind === 'deployments') return this.scale(namespace ?? '', name, request);
    if (subresource) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    switch (method) {
      case 'GET': {
        const object = this.get(kind, namespace, name);
        if (!object) throw notFound(kind, name);
        return [200, object];
      }
      case 'PUT':
        return [200, this.update(kind, namespace, name, request.body, request.seq)];
      case 'PATCH':
        return this.patch(kind, namespace, name, request);
      case 'DELETE': {
        const removed = this.store.remove(kind, namespace, name, request.seq);
        const meta = metaOf(removed);
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: GROUP[kind], kind, uid: meta.uid } }];
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private listResponse(kind: ResourceName, namespace: string | undefined, query: Record<string, string>): JsonObject {
    const items = (namespace === undefined && kind !== 'namespaces' ? this.store.listAll(kind) : this.list(kind, namespace)).filter(
      selectorMatcher(query),
    );
    return { kind: `${KIND[kind]}List`, apiVersion: API_VERSION[kind], metadata: { resourceVersion: String(this.store.resourceVersion) }, items };
  }

  private requireNamespace(namespace: string | undefined): void {
    if (namespace !== undefined && !this.store.has('namespaces', undefined, namespace)) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
  }

  private create(kind: ResourceName, namespace: string | undefined, request: RecordedRequest, rawBody: string): JsonObject {
    const body = isObject(request.body) ? clone(request.body) : undefined;
    if (!body) throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${rawBody.slice(0, 40)}`);
    this.requireNamespace(namespace);
    const meta = metaOf(body);
    const name = String(meta.name ?? '');
    if (meta.namespace !== undefined && meta.namespace !== namespace) {
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    if (this.store.has(kind, namespace, name)) {
      throw new ApiError(409, 'AlreadyExists', `${qualified(kind)} "${name}" already exists`, { name, group: GROUP[kind], kind });
    }
    body.apiVersion = API_VERSION[kind];
    body.kind = KIND[kind];
    delete body.status;
    this.store.validate(kind, body);
    this.store.withDefaults(kind, body);
    if (kind === 'deployments') meta.generation = 1;
    const saved = this.save(kind, namespace, body, request.seq);
    if (kind === 'deployments') this.controller.schedule(namespace ?? '', name);
    return saved;
  }

  /** Replaces the object (keeping server-owned fields) and runs the controller on spec changes. */
  private update(kind: ResourceName, namespace: string | undefined, name: string, body: unknown, cause: number): JsonObject {
    const previous = this.store.raw(kind, namespace, name);
    if (!previous) throw notFound(kind, name);
    if (!isObject(body)) throw new ApiError(400, 'BadRequest', 'the body of the request was in an unknown format');
    const next = clone(body);
    const meta = metaOf(next);
    const previousMeta = metaOf(previous);
    if (meta.name !== undefined && meta.name !== name) throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== previousMeta.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    meta.name = name;
    meta.uid = previousMeta.uid;
    meta.creationTimestamp = previousMeta.creationTimestamp;
    next.apiVersion = API_VERSION[kind];
    next.kind = KIND[kind];
    next.status = previous.status;
    this.store.validate(kind, next, previous);
    this.store.withDefaults(kind, next, previous);
    const specChanged = JSON.stringify(previous.spec) !== JSON.stringify(next.spec);
    if (kind === 'deployments') meta.generation = Number(previousMeta.generation ?? 1) + (specChanged ? 1 : 0);
    const saved = this.save(kind, namespace, next, cause);
    if (kind === 'deployments' && specChanged) this.controller.schedule(namespace ?? '', name);
    return saved;
  }

  private patch(kind: ResourceName, namespace: string | undefined, name: string, request: RecordedRequest): [number, unknown] {
    const previous = this.store.raw(kind, namespace, name);
    if (!previous) throw notFound(kind, name);
    let next: unknown;
    try {
      switch (request.contentType) {
        case 'application/strategic-merge-patch+json':
          next = strategicMergePatch(previous, request.body);
          break;
        case 'application/merge-patch+json':
          next = mergePatch(previous, request.body);
          break;
        case 'application/json-patch+json':
          next = jsonPatch(previous, request.body);
          break;
        default:
          throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
      }
    } catch (error) {
      if (error instanceof PatchError) throw new ApiError(422, 'Invalid', error.message);
      throw error;
    }
    // As the API server does: a resourceVersion in the patch itself is a precondition (409 when stale).
    const precondition = isObject(request.body) && isObject(request.body.metadata) ? request.body.metadata.resourceVersion : undefined;
    if (isObject(next) && isObject(next.metadata)) {
      if (precondition === undefined) delete next.metadata.resourceVersion;
      else next.metadata.resourceVersion = precondition;
    }
    return [200, this.update(kind, namespace, name, next, request.seq)];
  }

  private scale(namespace: string, name: string, request: RecordedRequest): [number, unknown] {
    const deployment = this.store.raw('deployments', namespace, name);
    if (!deployment) throw notFound('deployments', name);
    const toScale = (object: JsonObject): JsonObject => {
      const meta = metaOf(object);
      const selector = isObject(specOf(object).selector) ? (specOf(object).selector as JsonObject).matchLabels : {};
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name, namespace, uid: meta.uid, resourceVersion: meta.resourceVersion, creationTimestamp: meta.creationTimestamp },
        spec: { replicas: specOf(object).replicas },
        status: withoutZeros({
          replicas: isObject(object.status) ? object.status.replicas : 0,
          selector: Object.entries(isObject(selector) ? selector : {}).map(([key, value]) => `${key}=${String(value)}`).join(','),
        }),
      };
    };
    const current = toScale(clone(deployment));
    if (request.method === 'GET') return [200, current];
    let next: unknown;
    if (request.method === 'PUT') next = request.body;
    else if (request.method === 'PATCH') {
      next = request.contentType === 'application/json-patch+json' ? jsonPatch(current, request.body) : mergePatch(current, request.body);
    } else throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const replicas = isObject(next) && isObject(next.spec) ? next.spec.replicas : undefined;
    if (!(Number.isInteger(replicas) && Number(replicas) >= 0)) throw invalid('deployments', name, ['spec.replicas: Invalid value: must be a non-negative integer']);
    const updated = clone(deployment);
    specOf(updated).replicas = replicas;
    delete metaOf(updated).resourceVersion;
    return [200, toScale(this.update('deployments', namespace, name, updated, request.seq))];
  }

  /** Streams watch events: history after the requested resourceVersion, then live changes. */
  private watch(request: RecordedRequest, res: ServerResponse): void {
    const parts = request.path.split('/').filter(Boolean);
    const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
    const watchable: readonly string[] = [...RESOURCE_NAMES, 'pods'];
    let namespace: string | undefined;
    let resource: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) [, namespace, resource] = rest;
    else [resource] = rest;
    if (!watchable.includes(resource ?? '')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    const matches = selectorMatcher(request.query);
    const watcher: Watcher = { resource: resource as Watcher['resource'], namespace, matches, res };
    const since = Number(request.query.resourceVersion ?? '0');
    if (resource === 'pods') {
      for (const pod of this.controller.pods(namespace)) if (matches(pod)) res.write(`${JSON.stringify({ type: 'ADDED', object: pod })}\n`);
    } else if (!since || request.query.sendInitialEvents === 'true') {
      for (const object of namespace === undefined && resource !== 'namespaces' ? [] : this.list(resource as ResourceName, namespace)) {
        if (matches(object)) res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
      }
      if (request.query.sendInitialEvents === 'true') {
        res.write(
          `${JSON.stringify({
            type: 'BOOKMARK',
            object: { kind: KIND[resource as ResourceName], apiVersion: API_VERSION[resource as ResourceName], metadata: { resourceVersion: String(this.store.resourceVersion), annotations: { 'k8s.io/initial-events-end': 'true' } } },
          })}\n`,
        );
      }
    } else {
      for (const entry of this.store.history) {
        if (entry.rv <= since || entry.resource !== resource) continue;
        if (namespace !== undefined && entry.namespace !== namespace) continue;
        if (matches(entry.object)) res.write(`${JSON.stringify({ type: entry.type, object: entry.object })}\n`);
      }
    }
    this.watchers.add(watcher);
    const timeout = Number(request.query.timeoutSeconds ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(watcher);
    });
  }

}

/** A kubeconfig with one context `fake` for `server` (plain http, no credentials). */
export async function writeKubeconfig(dir: string, server: string, namespace = 'default'): Promise<{ KUBECONFIG: string; KUBECACHEDIR: string }> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server } }],
    users: [{ name: 'fake', user: {} }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
    'current-context': 'fake',
  };
  await writeFile(path, JSON.stringify(config, null, 2));
  return { KUBECONFIG: path, KUBECACHEDIR: join(dir, 'kube-cache') };
}
