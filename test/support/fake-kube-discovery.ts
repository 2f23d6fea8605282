// The fake API server's discovery documents: /version, /api, /apis, the resource lists
// and the least OpenAPI v3 that kubectl 1.32 needs to apply with server-side validation.
import type { JsonObject } from './fake-kube-patch.js';

/** The document for a discovery path, or undefined when the path is not one. */
export function discovery(path: string, url: string): unknown {
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
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: url.replace('http://', '') }] };
    case '/apis':
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [
          ['apps', 'v1'],
          ['autoscaling', 'v2'],
          ['policy', 'v1'],
          ['coordination.k8s.io', 'v1'],
        ].map(([name = '', version = '']) => ({ name, versions: [{ groupVersion: `${name}/${version}`, version }], preferredVersion: { groupVersion: `${name}/${version}`, version } })),
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
    case '/apis/autoscaling/v2':
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'autoscaling/v2', resources: [resource('horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['hpa'], { categories: ['all'] })] };
    case '/apis/policy/v1':
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'policy/v1', resources: [resource('poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb'])] };
    case '/apis/coordination.k8s.io/v1':
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'coordination.k8s.io/v1', resources: [resource('leases', 'Lease', true)] };
    case '/openapi/v3':
      return {
        paths: {
          'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=FAKE0001' },
          'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1?hash=FAKE0002' },
          'apis/autoscaling/v2': { serverRelativeURL: '/openapi/v3/apis/autoscaling/v2?hash=FAKE0003' },
          'apis/policy/v1': { serverRelativeURL: '/openapi/v3/apis/policy/v1?hash=FAKE0004' },
          'apis/coordination.k8s.io/v1': { serverRelativeURL: '/openapi/v3/apis/coordination.k8s.io/v1?hash=FAKE0005' },
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
    case '/openapi/v3/apis/autoscaling/v2':
      return openApiDocument([['/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/{name}', 'autoscaling', 'v2', 'HorizontalPodAutoscaler']]);
    case '/openapi/v3/apis/policy/v1':
      return openApiDocument([['/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/{name}', 'policy', 'v1', 'PodDisruptionBudget']]);
    case '/openapi/v3/apis/coordination.k8s.io/v1':
      return openApiDocument([['/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}', 'coordination.k8s.io', 'v1', 'Lease']]);
    default:
      return undefined;
  }
}

/**
 * The least OpenAPI v3 document kubectl accepts: PATCH operations tagged with their
 * group-version-kind and declaring the fieldValidation query parameter, which is how
 * kubectl 1.32 decides to validate on the server (`?fieldValidation=Strict`) instead of
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

