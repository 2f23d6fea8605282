// An in-memory Kubernetes API server that the real kubectl talks to through a temp
// kubeconfig: discovery, OpenAPI v3 stubs, namespaces, services, deployments (with a
// controllable rollout "controller"), synthesized pods, watches, and a request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { clone, isObject, jsonPatch, mergePatch, PatchError, strategicMergePatch, type JsonObject } from './fake-kube-patch.js';

export type ResourceName = 'namespaces' | 'services' | 'deployments';

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

export interface StateChange {
  seq: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: ResourceName;
  namespace?: string;
  name: string;
  /** Snapshot of the object after the change (before, for DELETED). */
  object: JsonObject;
  /** What caused it: the request's seq, or 'controller' for status updates. */
  cause: number | 'controller';
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

interface HistoryEntry {
  rv: number;
  type: StateChange['type'];
  resource: ResourceName;
  namespace?: string;
  object: JsonObject;
}

const GROUP: Record<ResourceName, string> = { namespaces: '', services: '', deployments: 'apps' };
const KIND: Record<ResourceName, string> = { namespaces: 'Namespace', services: 'Service', deployments: 'Deployment' };
const API_VERSION: Record<ResourceName, string> = { namespaces: 'v1', services: 'v1', deployments: 'apps/v1' };

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }
}

function qualified(resource: ResourceName): string {
  return GROUP[resource] ? `${resource}.${GROUP[resource]}` : resource;
}

function notFound(resource: ResourceName, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(resource)} "${name}" not found`, {
    name,
    ...(GROUP[resource] ? { group: GROUP[resource] } : {}),
    kind: resource,
  });
}

function invalid(resource: ResourceName, name: string, causes: string[]): ApiError {
  const kind = GROUP[resource] ? `${KIND[resource]}.${GROUP[resource]}` : KIND[resource];
  // Each cause is "field: message", as the API server's StatusCause carries them.
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${causes.join(', ')}`, {
    name,
    group: GROUP[resource],
    kind: KIND[resource],
    causes: causes.map((cause) => {
      const split = cause.indexOf(': ');
      return { reason: 'FieldValueInvalid', field: cause.slice(0, split), message: cause.slice(split + 2) };
    }),
  });
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Requirement = (labels: Record<string, string>) => boolean;

/** Label selectors as kubectl sends them: `a=b,c!=d,e in (x,y),f notin (z),g,!h`. */
export function parseLabelSelector(text: string): Requirement[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  if (current.trim()) parts.push(current);
  return parts.map((raw) => {
    const part = raw.trim();
    let match = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (match) {
      const [, key = '', op, value = ''] = match;
      return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
    }
    match = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(part);
    if (match) {
      const [, key = '', op, list = ''] = match;
      const values = list.split(',').map((value) => value.trim());
      return op === 'in'
        ? (labels) => labels[key] !== undefined && values.includes(labels[key] ?? '')
        : (labels) => labels[key] === undefined || !values.includes(labels[key] ?? '');
    }
    if (part.startsWith('!')) return (labels) => labels[part.slice(1)] === undefined;
    return (labels) => labels[part] !== undefined;
  });
}

function labelsOf(object: JsonObject): Record<string, string> {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  return isObject(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
}

function metaOf(object: JsonObject): JsonObject {
  if (!isObject(object.metadata)) object.metadata = {};
  return object.metadata as JsonObject;
}

function specOf(object: JsonObject): JsonObject {
  if (!isObject(object.spec)) object.spec = {};
  return object.spec as JsonObject;
}

function selectorMatcher(query: Record<string, string>): (object: JsonObject) => boolean {
  const labelRequirements = query.labelSelector ? parseLabelSelector(query.labelSelector) : [];
  const fieldRequirements = (query.fieldSelector ?? '')
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const [field = '', value = ''] = part.split(/!=|==?/);
      const negate = part.includes('!=');
      return (object: JsonObject) => {
        const meta = metaOf(object);
        const actual = field === 'metadata.name' ? meta.name : field === 'metadata.namespace' ? meta.namespace : undefined;
        return negate ? actual !== value : actual === value;
      };
    });
  return (object) =>
    labelRequirements.every((requirement) => requirement(labelsOf(object))) && fieldRequirements.every((requirement) => requirement(object));
}

/** Kubernetes omits zero-valued status counters; so does the fake, so clients must cope. */
function withoutZeros(status: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(status)) if (value !== 0 && value !== undefined) result[key] = value;
  return result;
}

export class FakeKube {
  readonly requests: RecordedRequest[] = [];
  readonly changes: StateChange[] = [];
  url = '';

  private server: Server | undefined;
  private seq = 0;
  private resourceVersion = 1000;
  private readonly store = new Map<string, JsonObject>();
  private readonly history: HistoryEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly failures: FailureRule[] = [];
  private readonly stuck = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();
  private readonly controllerDelayMs: number;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(options: FakeKubeOptions) {
    this.controllerDelayMs = options.controllerDelayMs ?? 50;
    for (const name of options.namespaces ?? ['default']) this.addNamespace(name);
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
    for (const list of this.timers.values()) for (const timer of list) clearTimeout(timer);
    this.timers.clear();
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
  neverReady(namespace: string, name: string): void {
    this.stuck.add(`${namespace}/${name}`);
  }

  /** Makes matching requests answer with an error Status. */
  fail(rule: FailureRule): void {
    this.failures.push({ times: 1, ...rule });
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): JsonObject | undefined {
    const object = this.store.get(this.key(resource, namespace, name));
    return object ? clone(object) : undefined;
  }

  list(resource: ResourceName, namespace?: string): JsonObject[] {
    const prefix = `${resource}/${namespace ?? ''}/`;
    return [...this.store.entries()].filter(([key]) => key.startsWith(prefix)).map(([, object]) => clone(object));
  }

  /** Requests that changed something (not GET), in order; handy for assertions. */
  writes(): RecordedRequest[] {
    return this.requests.filter((request) => request.method !== 'GET');
  }

  // ---- storage -------------------------------------------------------------------

  private key(resource: ResourceName, namespace: string | undefined, name: string): string {
    return `${resource}/${resource === 'namespaces' ? '' : (namespace ?? '')}/${name}`;
  }

  private nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  private save(resource: ResourceName, namespace: string | undefined, object: JsonObject, cause: number | 'controller'): JsonObject {
    const meta = metaOf(object);
    const name = String(meta.name);
    const key = this.key(resource, namespace, name);
    const existing = this.store.get(key);
    this.resourceVersion += 1;
    meta.resourceVersion = String(this.resourceVersion);
    if (!existing) {
      meta.uid ??= randomUUID();
      meta.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    }
    if (resource !== 'namespaces') meta.namespace = namespace;
    const stored = clone(object);
    this.store.set(key, stored);
    this.record(existing ? 'MODIFIED' : 'ADDED', resource, namespace, stored, cause);
    return clone(stored);
  }

  private remove(resource: ResourceName, namespace: string | undefined, name: string, cause: number): JsonObject {
    const key = this.key(resource, namespace, name);
    const existing = this.store.get(key);
    if (!existing) throw notFound(resource, name);
    this.store.delete(key);
    this.resourceVersion += 1;
    metaOf(existing).resourceVersion = String(this.resourceVersion);
    this.record('DELETED', resource, namespace, existing, cause);
    for (const timer of this.timers.get(key) ?? []) clearTimeout(timer);
    this.timers.delete(key);
    return existing;
  }

  private record(type: StateChange['type'], resource: ResourceName, namespace: string | undefined, object: JsonObject, cause: number | 'controller'): void {
    const name = String(metaOf(object).name);
    this.changes.push({ seq: this.nextSeq(), type, resource, namespace, name, object: clone(object), cause });
    const entry: HistoryEntry = { rv: this.resourceVersion, type, resource, namespace, object: clone(object) };
    this.history.push(entry);
    this.notify(entry);
    if (resource === 'deployments') this.notifyPods(namespace);
  }

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
      for (const pod of this.pods(namespace)) {
        if (watcher.matches(pod)) watcher.res.write(`${JSON.stringify({ type: 'MODIFIED', object: pod })}\n`);
      }
    }
  }

  // ---- the deployment controller ---------------------------------------------

  private schedule(namespace: string, name: string): void {
    const key = this.key('deployments', namespace, name);
    for (const timer of this.timers.get(key) ?? []) clearTimeout(timer);
    const stuck = this.stuck.has(`${namespace}/${name}`);
    const observe = setTimeout(() => this.progress(namespace, name, false), this.controllerDelayMs);
    const timers = [observe];
    if (!stuck) timers.push(setTimeout(() => this.progress(namespace, name, true), 2 * this.controllerDelayMs));
    this.timers.set(key, timers);
  }

  private progress(namespace: string, name: string, ready: boolean): void {
    const current = this.store.get(this.key('deployments', namespace, name));
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
    this.save('deployments', namespace, object, 'controller');
  }

  private templateHash(deployment: JsonObject): string {
    return createHash('sha256').update(JSON.stringify(specOf(deployment).template ?? {})).digest('hex').slice(0, 10).replace(/[0-3]/g, 'b');
  }

  /** Pods as the deployment's status says they are: status.replicas pods, readyReplicas of them Ready. */
  private pods(namespace: string | undefined): JsonObject[] {
    const pods: JsonObject[] = [];
    for (const deployment of this.list('deployments', namespace)) {
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
      seq: this.nextSeq(),
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
    const discovery = this.discovery(path);
    if (discovery) {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return [200, discovery];
    }
    const parts = path.split('/').filter(Boolean);
    // /api/v1/... or /apis/apps/v1/...
    const rest = parts[0] === 'api' && parts[1] === 'v1' ? parts.slice(2) : parts[0] === 'apis' && parts[1] === 'apps' && parts[2] === 'v1' ? parts.slice(3) : undefined;
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
    const groupOk = (resource === 'deployments') === (parts[0] === 'apis');
    if (!groupOk || !['namespaces', 'services', 'deployments', 'pods'].includes(resource ?? '')) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (resource === 'pods') {
      if (method !== 'GET' || name) throw new ApiError(405, 'MethodNotAllowed', 'the fake only lists pods');
      const pods = this.pods(namespace).filter(selectorMatcher(request.query));
      return [200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.resourceVersion) }, items: pods }];
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
        const removed = this.remove(kind, namespace, name, request.seq);
        const meta = metaOf(removed);
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: GROUP[kind], kind, uid: meta.uid } }];
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private listResponse(kind: ResourceName, namespace: string | undefined, query: Record<string, string>): JsonObject {
    const items = (namespace === undefined && kind !== 'namespaces' ? [...this.store.entries()].filter(([key]) => key.startsWith(`${kind}/`)).map(([, object]) => clone(object)) : this.list(kind, namespace)).filter(
      selectorMatcher(query),
    );
    return { kind: `${KIND[kind]}List`, apiVersion: API_VERSION[kind], metadata: { resourceVersion: String(this.resourceVersion) }, items };
  }

  private requireNamespace(namespace: string | undefined): void {
    if (namespace !== undefined && !this.store.has(this.key('namespaces', undefined, namespace))) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
  }

  private validate(kind: ResourceName, object: JsonObject, previous?: JsonObject): void {
    const meta = metaOf(object);
    const name = String(meta.name ?? '');
    const causes: string[] = [];
    if (!DNS_SUBDOMAIN.test(name)) causes.push(`metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    for (const [key, value] of Object.entries(labelsOf(object))) {
      if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) causes.push(`metadata.labels: Invalid value: "${String(value)}": label ${key} must be 63 characters or less, alphanumeric, '-', '_' or '.'`);
    }
    const annotations = isObject(meta.annotations) ? meta.annotations : {};
    for (const [key, value] of Object.entries(annotations)) {
      if (typeof value !== 'string') causes.push(`metadata.annotations: Invalid value: annotation ${key} must be a string`);
    }
    if (kind === 'deployments') {
      const spec = specOf(object);
      const selector = isObject(spec.selector) && isObject(spec.selector.matchLabels) ? (spec.selector.matchLabels as Record<string, string>) : undefined;
      const template = isObject(spec.template) ? spec.template : {};
      const templateLabels = isObject(template.metadata) && isObject(template.metadata.labels) ? (template.metadata.labels as Record<string, string>) : {};
      if (!selector) causes.push('spec.selector: Required value');
      else if (!Object.entries(selector).every(([key, value]) => templateLabels[key] === value)) {
        causes.push('spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`');
      }
      const podSpec = isObject(template.spec) ? template.spec : {};
      const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
      if (containers.length === 0) causes.push('spec.template.spec.containers: Required value');
      for (const container of containers) {
        if (!isObject(container) || !container.name || !container.image) causes.push('spec.template.spec.containers: name and image are required');
      }
      if (spec.replicas !== undefined && !(Number.isInteger(spec.replicas) && Number(spec.replicas) >= 0)) causes.push('spec.replicas: Invalid value: must be a non-negative integer');
      if (previous && JSON.stringify(specOf(previous).selector) !== JSON.stringify(spec.selector)) {
        causes.push(`spec.selector: Invalid value: ${JSON.stringify(spec.selector)}: field is immutable`);
      }
    }
    if (kind === 'services') {
      const ports = specOf(object).ports;
      if (!Array.isArray(ports) || ports.length === 0) causes.push('spec.ports: Required value');
    }
    if (causes.length > 0) throw invalid(kind, name, causes);
  }

  private withDefaults(kind: ResourceName, object: JsonObject, previous?: JsonObject): JsonObject {
    const spec = specOf(object);
    if (kind === 'deployments') {
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
    }
    if (kind === 'services') {
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      const previousIp = previous ? specOf(previous).clusterIP : undefined;
      spec.clusterIP ??= previousIp ?? `10.96.${(this.resourceVersion >> 8) & 255}.${this.resourceVersion & 255}`;
      spec.clusterIPs ??= [spec.clusterIP];
      if (Array.isArray(spec.ports)) {
        for (const port of spec.ports) {
          if (!isObject(port)) continue;
          port.protocol ??= 'TCP';
          port.targetPort ??= port.port;
        }
      }
    }
    return object;
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
    if (this.store.has(this.key(kind, namespace, name))) {
      throw new ApiError(409, 'AlreadyExists', `${qualified(kind)} "${name}" already exists`, { name, group: GROUP[kind], kind });
    }
    body.apiVersion = API_VERSION[kind];
    body.kind = KIND[kind];
    delete body.status;
    this.validate(kind, body);
    this.withDefaults(kind, body);
    if (kind === 'deployments') meta.generation = 1;
    const saved = this.save(kind, namespace, body, request.seq);
    if (kind === 'deployments') this.schedule(namespace ?? '', name);
    return saved;
  }

  /** Replaces the object (keeping server-owned fields) and runs the controller on spec changes. */
  private update(kind: ResourceName, namespace: string | undefined, name: string, body: unknown, cause: number): JsonObject {
    const previous = this.store.get(this.key(kind, namespace, name));
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
    this.validate(kind, next, previous);
    this.withDefaults(kind, next, previous);
    const specChanged = JSON.stringify(previous.spec) !== JSON.stringify(next.spec);
    if (kind === 'deployments') meta.generation = Number(previousMeta.generation ?? 1) + (specChanged ? 1 : 0);
    const saved = this.save(kind, namespace, next, cause);
    if (kind === 'deployments' && specChanged) this.schedule(namespace ?? '', name);
    return saved;
  }

  private patch(kind: ResourceName, namespace: string | undefined, name: string, request: RecordedRequest): [number, unknown] {
    const previous = this.store.get(this.key(kind, namespace, name));
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
    if (isObject(next) && isObject(next.metadata)) delete next.metadata.resourceVersion;
    return [200, this.update(kind, namespace, name, next, request.seq)];
  }

  private scale(namespace: string, name: string, request: RecordedRequest): [number, unknown] {
    const deployment = this.store.get(this.key('deployments', namespace, name));
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
    let namespace: string | undefined;
    let resource: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) [, namespace, resource] = rest;
    else [resource] = rest;
    if (!['namespaces', 'services', 'deployments', 'pods'].includes(resource ?? '')) {
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
      for (const pod of this.pods(namespace)) if (matches(pod)) res.write(`${JSON.stringify({ type: 'ADDED', object: pod })}\n`);
    } else if (!since || request.query.sendInitialEvents === 'true') {
      for (const object of namespace === undefined && resource !== 'namespaces' ? [] : this.list(resource as ResourceName, namespace)) {
        if (matches(object)) res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
      }
      if (request.query.sendInitialEvents === 'true') {
        res.write(
          `${JSON.stringify({
            type: 'BOOKMARK',
            object: { kind: KIND[resource as ResourceName], apiVersion: API_VERSION[resource as ResourceName], metadata: { resourceVersion: String(this.resourceVersion), annotations: { 'k8s.io/initial-events-end': 'true' } } },
          })}\n`,
        );
      }
    } else {
      for (const entry of this.history) {
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

  // ---- discovery -----------------------------------------------------------------

  private discovery(path: string): unknown {
    const resource = (name: string, kind: string, namespaced: boolean, shortNames: string[] = [], extra: JsonObject = {}) => ({
      name,
      singularName: name.includes('/') ? '' : kind.toLowerCase(),
      namespaced,
      kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      ...(shortNames.length ? { shortNames } : {}),
      ...extra,
    });
    switch (path) {
      case '/version':
        return { major: '1', minor: '32', gitVersion: 'v1.32.0-fake', gitCommit: 'fake', gitTreeState: 'clean', buildDate: '2025-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' };
      case '/api':
        return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.url.replace('http://', '') }] };
      case '/apis':
        return {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: [{ name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } }],
        };
      case '/api/v1':
        return {
          kind: 'APIResourceList',
          groupVersion: 'v1',
          resources: [
            resource('namespaces', 'Namespace', false, ['ns']),
            resource('pods', 'Pod', true, ['po'], { categories: ['all'], verbs: ['get', 'list', 'watch'] }),
            resource('services', 'Service', true, ['svc'], { categories: ['all'] }),
          ],
        };
      case '/apis/apps/v1':
        return {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: 'apps/v1',
          resources: [
            resource('deployments', 'Deployment', true, ['deploy'], { categories: ['all'] }),
            resource('deployments/scale', 'Scale', true, [], { group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] }),
          ],
        };
      case '/openapi/v3':
        return {
          paths: {
            'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=FAKE0001' },
            'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1?hash=FAKE0002' },
          },
        };
      case '/openapi/v3/api/v1':
        return openApiDocument([
          ['/api/v1/namespaces/{name}', '', 'v1', 'Namespace'],
          ['/api/v1/namespaces/{namespace}/services/{name}', '', 'v1', 'Service'],
        ]);
      case '/openapi/v3/apis/apps/v1':
        return openApiDocument([
          ['/apis/apps/v1/namespaces/{namespace}/deployments/{name}', 'apps', 'v1', 'Deployment'],
          ['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale', 'autoscaling', 'v1', 'Scale'],
        ]);
      default:
        return undefined;
    }
  }
}

/**
 * The least OpenAPI v3 document kubectl accepts: PATCH operations tagged with their
 * group-version-kind and declaring the fieldValidation query parameter, which is how
 * kubectl 1.32 decides to validate on the server (`?fieldValidation=Strict`) instead of
 * downloading the protobuf OpenAPI v2 schema. No schemas: apply then computes its
 * strategic merge patch from kubectl's built-in types.
 */
function openApiDocument(paths: Array<[string, string, string, string]>): JsonObject {
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (fake)', version: 'v1.32.0' },
    paths: Object.fromEntries(
      paths.map(([path, group, version, kind]) => [
        path,
        {
          patch: {
            operationId: `patch${kind}`,
            parameters: [
              { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
              { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
              { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
            ],
            responses: { '200': { description: 'OK' } },
            'x-kubernetes-action': 'patch',
            'x-kubernetes-group-version-kind': { group, version, kind },
          },
        },
      ]),
    ),
    components: { schemas: {} },
  };
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
