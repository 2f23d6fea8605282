// The fake Kubernetes API server's storage: objects by kind, namespace and name, with
// resourceVersions, a change log and a watch history; admission (validation and the
// defaults the real API server fills in); label and field selectors.
import { randomUUID } from 'node:crypto';
import { clone, isObject, type JsonObject } from './fake-kube-patch.js';

export type ResourceName = 'namespaces' | 'services' | 'deployments' | 'leases' | 'poddisruptionbudgets' | 'horizontalpodautoscalers';

export const RESOURCE_NAMES: readonly ResourceName[] = ['namespaces', 'services', 'deployments', 'leases', 'poddisruptionbudgets', 'horizontalpodautoscalers'];

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

export interface HistoryEntry {
  rv: number;
  type: StateChange['type'];
  resource: ResourceName;
  namespace?: string;
  object: JsonObject;
}

export const GROUP: Record<ResourceName, string> = {
  namespaces: '',
  services: '',
  deployments: 'apps',
  leases: 'coordination.k8s.io',
  poddisruptionbudgets: 'policy',
  horizontalpodautoscalers: 'autoscaling',
};
export const KIND: Record<ResourceName, string> = {
  namespaces: 'Namespace',
  services: 'Service',
  deployments: 'Deployment',
  leases: 'Lease',
  poddisruptionbudgets: 'PodDisruptionBudget',
  horizontalpodautoscalers: 'HorizontalPodAutoscaler',
};
export const API_VERSION: Record<ResourceName, string> = {
  namespaces: 'v1',
  services: 'v1',
  deployments: 'apps/v1',
  leases: 'coordination.k8s.io/v1',
  poddisruptionbudgets: 'policy/v1',
  horizontalpodautoscalers: 'autoscaling/v2',
};

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }
}

export function qualified(resource: ResourceName): string {
  return GROUP[resource] ? `${resource}.${GROUP[resource]}` : resource;
}

export function notFound(resource: ResourceName, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(resource)} "${name}" not found`, {
    name,
    ...(GROUP[resource] ? { group: GROUP[resource] } : {}),
    kind: resource,
  });
}

export function invalid(resource: ResourceName, name: string, causes: string[]): ApiError {
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

export function labelsOf(object: JsonObject): Record<string, string> {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  return isObject(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
}

export function metaOf(object: JsonObject): JsonObject {
  if (!isObject(object.metadata)) object.metadata = {};
  return object.metadata as JsonObject;
}

export function specOf(object: JsonObject): JsonObject {
  if (!isObject(object.spec)) object.spec = {};
  return object.spec as JsonObject;
}

export function selectorMatcher(query: Record<string, string>): (object: JsonObject) => boolean {
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
export function withoutZeros(status: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(status)) if (value !== 0 && value !== undefined) result[key] = value;
  return result;
}
/** Objects keyed by kind/namespace/name; every change gets a resourceVersion and a seq. */
export class KubeStore {
  readonly changes: StateChange[] = [];
  readonly history: HistoryEntry[] = [];
  resourceVersion = 1000;
  private seq = 0;
  private readonly objects = new Map<string, JsonObject>();
  /** Called after every change (watchers, the controller). */
  private readonly listeners: Array<(entry: HistoryEntry, key: string) => void> = [];

  onChange(listener: (entry: HistoryEntry, key: string) => void): void {
    this.listeners.push(listener);
  }

  key(resource: ResourceName, namespace: string | undefined, name: string): string {
    return `${resource}/${resource === 'namespaces' ? '' : (namespace ?? '')}/${name}`;
  }

  /** Requests and changes share one sequence, so tests can order them. */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  has(resource: ResourceName, namespace: string | undefined, name: string): boolean {
    return this.objects.has(this.key(resource, namespace, name));
  }

  /** The stored object itself (callers clone before changing it). */
  raw(resource: ResourceName, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.objects.get(this.key(resource, namespace, name));
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): JsonObject | undefined {
    const object = this.raw(resource, namespace, name);
    return object ? clone(object) : undefined;
  }

  list(resource: ResourceName, namespace?: string): JsonObject[] {
    const prefix = `${resource}/${namespace ?? ''}/`;
    return [...this.objects.entries()].filter(([key]) => key.startsWith(prefix)).map(([, object]) => clone(object));
  }

  /** Every object of a kind, across namespaces. */
  listAll(resource: ResourceName): JsonObject[] {
    return [...this.objects.entries()].filter(([key]) => key.startsWith(`${resource}/`)).map(([, object]) => clone(object));
  }

  save(resource: ResourceName, namespace: string | undefined, object: JsonObject, cause: number | 'controller'): JsonObject {
    const meta = metaOf(object);
    const name = String(meta.name);
    const key = this.key(resource, namespace, name);
    const existing = this.objects.get(key);
    this.resourceVersion += 1;
    meta.resourceVersion = String(this.resourceVersion);
    if (!existing) {
      meta.uid ??= randomUUID();
      meta.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    }
    if (resource !== 'namespaces') meta.namespace = namespace;
    const stored = clone(object);
    this.objects.set(key, stored);
    this.record(existing ? 'MODIFIED' : 'ADDED', resource, namespace, stored, cause);
    return clone(stored);
  }

  remove(resource: ResourceName, namespace: string | undefined, name: string, cause: number): JsonObject {
    const key = this.key(resource, namespace, name);
    const existing = this.objects.get(key);
    if (!existing) throw notFound(resource, name);
    this.objects.delete(key);
    this.resourceVersion += 1;
    metaOf(existing).resourceVersion = String(this.resourceVersion);
    this.record('DELETED', resource, namespace, existing, cause);
    return existing;
  }

  private record(type: StateChange['type'], resource: ResourceName, namespace: string | undefined, object: JsonObject, cause: number | 'controller'): void {
    const name = String(metaOf(object).name);
    this.changes.push({ seq: this.nextSeq(), type, resource, namespace, name, object: clone(object), cause });
    const entry: HistoryEntry = { rv: this.resourceVersion, type, resource, namespace, object: clone(object) };
    this.history.push(entry);
    const key = this.key(resource, namespace, name);
    for (const listener of this.listeners) listener(entry, key);
  }

  // ---- admission: what the real API server refuses, and the defaults it fills in ----

  validate(kind: ResourceName, object: JsonObject, previous?: JsonObject): void {
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
    if (kind === 'poddisruptionbudgets') {
      const spec = specOf(object);
      if ((spec.minAvailable === undefined) === (spec.maxUnavailable === undefined)) causes.push('spec: Invalid value: exactly one of minAvailable and maxUnavailable');
      if (!isObject(spec.selector)) causes.push('spec.selector: Required value');
    }
    if (kind === 'horizontalpodautoscalers') {
      const spec = specOf(object);
      const target = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : undefined;
      if (!target?.kind || !target.name) causes.push('spec.scaleTargetRef: Required value');
      if (!(Number.isInteger(spec.maxReplicas) && Number(spec.maxReplicas) >= 1)) causes.push('spec.maxReplicas: Invalid value: must be at least 1');
      if (spec.minReplicas !== undefined && !(Number(spec.minReplicas) >= 1 && Number(spec.minReplicas) <= Number(spec.maxReplicas))) causes.push('spec.minReplicas: Invalid value: must be from 1 to maxReplicas');
    }
    if (kind === 'services') {
      const ports = specOf(object).ports;
      if (!Array.isArray(ports) || ports.length === 0) causes.push('spec.ports: Required value');
    }
    if (causes.length > 0) throw invalid(kind, name, causes);
  }

  withDefaults(kind: ResourceName, object: JsonObject, previous?: JsonObject): JsonObject {
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
}
