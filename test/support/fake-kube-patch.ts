// The three patch formats the fake Kubernetes API server accepts: JSON merge patch
// (RFC 7386), JSON patch (RFC 6902) and the strategic merge patch that `kubectl apply` sends.

import { isPlainObject as isObject } from '../../src/plain-object.js';

export type JsonObject = Record<string, unknown>;

/** The product's one check, under the name the fake server's modules import it by. */
export { isObject };

export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export class PatchError extends Error {}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(root: unknown, parts: string[]): { parent: unknown; key: string } {
  let node = root;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else node = undefined;
    if (node === undefined) throw new PatchError(`path /${parts.join('/')} does not exist`);
  }
  return { parent: node, key: parts[parts.length - 1] ?? '' };
}

function getAt(root: unknown, parts: string[]): unknown {
  if (parts.length === 0) return root;
  const { parent, key } = parentOf(root, parts);
  const value = Array.isArray(parent) ? parent[Number(key)] : isObject(parent) ? parent[key] : undefined;
  if (value === undefined) throw new PatchError(`path /${parts.join('/')} does not exist`);
  return value;
}

function removeAt(root: unknown, parts: string[]): unknown {
  const { parent, key } = parentOf(root, parts);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!(index >= 0 && index < parent.length)) throw new PatchError(`index ${key} out of range`);
    return parent.splice(index, 1)[0];
  }
  if (!isObject(parent) || !(key in parent)) throw new PatchError(`path /${parts.join('/')} does not exist`);
  const value = parent[key];
  delete parent[key];
  return value;
}

function addAt(root: unknown, parts: string[], value: unknown): unknown {
  if (parts.length === 0) return clone(value);
  const { parent, key } = parentOf(root, parts);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!(index >= 0 && index <= parent.length)) throw new PatchError(`index ${key} out of range`);
    parent.splice(index, 0, clone(value));
  } else if (isObject(parent)) {
    parent[key] = clone(value);
  } else {
    throw new PatchError(`cannot add at /${parts.join('/')}`);
  }
  return root;
}

/** RFC 6902 operations: add, remove, replace, move, copy, test. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be an array of operations');
  let root = clone(target);
  for (const operation of operations) {
    if (!isObject(operation)) throw new PatchError('a JSON patch operation must be an object');
    const path = pointer(String(operation.path ?? ''));
    switch (operation.op) {
      case 'add':
        root = addAt(root, path, operation.value);
        break;
      case 'remove':
        removeAt(root, path);
        break;
      case 'replace':
        getAt(root, path);
        if (path.length === 0) root = clone(operation.value);
        else {
          removeAt(root, path);
          root = addAt(root, path, operation.value);
        }
        break;
      case 'move': {
        const value = removeAt(root, pointer(String(operation.from ?? '')));
        root = addAt(root, path, value);
        break;
      }
      case 'copy':
        root = addAt(root, path, getAt(root, pointer(String(operation.from ?? ''))));
        break;
      case 'test':
        if (JSON.stringify(getAt(root, path)) !== JSON.stringify(operation.value)) {
          throw new PatchError(`test failed at ${String(operation.path)}`);
        }
        break;
      default:
        throw new PatchError(`unknown JSON patch op ${JSON.stringify(operation.op)}`);
    }
  }
  return root;
}

/**
 * Patch merge keys of the core and apps types the fake serves, from the Kubernetes
 * API's `patchMergeKey` struct tags. Lists not named here are atomic (replaced whole).
 */
function mergeKeyOf(field: string, path: readonly string[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'conditions':
      return 'type';
    case 'hostAliases':
      return 'ip';
    case 'ownerReferences':
      return 'uid';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'ports':
      // ContainerPort merges on containerPort, ServicePort on port.
      return path.some((part) => part === 'containers' || part === 'initContainers') ? 'containerPort' : 'port';
    default:
      return undefined;
  }
}

/** Primitive lists with patchStrategy merge: union instead of replace. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

/** Drops strategic-merge directives ($patch, $setElementOrder/..., ...) from a value being added. */
function withoutDirectives(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.filter((item) => !(isObject(item) && item.$patch !== undefined && Object.keys(item).length === 1)).map(withoutDirectives);
  }
  if (!isObject(value)) return clone(value);
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    result[key] = withoutDirectives(item);
  }
  return result;
}

function sameKey(a: unknown, b: unknown, key: string): boolean {
  return isObject(a) && isObject(b) && a[key] !== undefined && JSON.stringify(a[key]) === JSON.stringify(b[key]);
}

function mergeList(original: unknown, patch: unknown[], key: string, path: string[]): unknown[] {
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return withoutDirectives(patch) as unknown[];
  }
  const result = Array.isArray(original) ? clone(original) : [];
  for (const item of patch) {
    if (!isObject(item)) {
      result.push(clone(item));
      continue;
    }
    const index = result.findIndex((existing) => sameKey(existing, item, key));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMergePatch(result[index], item, path);
    else result.push(withoutDirectives(item));
  }
  return result;
}

function reorder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const position = (item: unknown) =>
    order.findIndex((wanted) => (key ? sameKey(item, wanted, key) : JSON.stringify(item) === JSON.stringify(wanted)));
  const ordered = list.filter((item) => position(item) >= 0).sort((a, b) => position(a) - position(b));
  const rest = list.filter((item) => position(item) < 0);
  return [...ordered, ...rest];
}

/**
 * Strategic merge patch as kubectl's three-way apply produces it: maps merge, null
 * deletes, keyed lists merge by their patch merge key, plus the `$patch`,
 * `$setElementOrder/`, `$deleteFromPrimitiveList/` and `$retainKeys` directives.
 */
export function strategicMergePatch(original: unknown, patch: unknown, path: string[] = []): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') return withoutDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const result: JsonObject = isObject(original) ? clone(original) : {};
  const orders: Array<[string, unknown[]]> = [];
  const deletions: Array<[string, unknown[]]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$setElementOrder/')) {
      orders.push([key.slice('$setElementOrder/'.length), Array.isArray(value) ? value : []]);
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      deletions.push([key.slice('$deleteFromPrimitiveList/'.length), Array.isArray(value) ? value : []]);
      continue;
    }
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      const mergeKey = mergeKeyOf(key, path);
      if (mergeKey) result[key] = mergeList(result[key], value, mergeKey, [...path, key]);
      else if (MERGED_PRIMITIVE_LISTS.has(key)) {
        const existing = Array.isArray(result[key]) ? (result[key] as unknown[]) : [];
        result[key] = [...existing, ...value.filter((item) => !existing.includes(item))];
      } else result[key] = withoutDirectives(value);
    } else if (isObject(value)) {
      const merged = strategicMergePatch(result[key], value, [...path, key]);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  for (const [field, values] of deletions) {
    if (Array.isArray(result[field])) result[field] = (result[field] as unknown[]).filter((item) => !values.includes(item));
  }
  for (const [field, order] of orders) {
    if (Array.isArray(result[field])) result[field] = reorder(result[field] as unknown[], order, mergeKeyOf(field, path));
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}
