// Kubernetes manifests from the readable templates in templates/k8s/: the template is
// parsed as YAML and values go into its nodes, so no value can change the YAML's shape.
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, parseDocument, visit, type YAMLMap } from 'yaml';
import { UsageError, messageOf } from '../errors.js';

/** templates/k8s/ of the installed package: src/deploy/ and dist/deploy/ both sit two levels down. */
export const K8S_TEMPLATE_DIR = fileURLToPath(new URL('../../templates/k8s/', import.meta.url));

export interface K8sTemplates {
  deployment: string;
  service: string;
  podDisruptionBudget: string;
  hpa: string;
}

export interface RenderedManifests {
  deployment: string;
  service: string;
  podDisruptionBudget: string;
  /** Only with --hpa. */
  hpa?: string;
}

/** The files of a template folder (`--templates DIR`); a team's folder may hold only some. */
export const K8S_TEMPLATE_FILES: Record<keyof K8sTemplates, string> = {
  deployment: 'deployment.yaml',
  service: 'service.yaml',
  podDisruptionBudget: 'poddisruptionbudget.yaml',
  hpa: 'hpa.yaml',
};

/** What the templates may refer to; a value left undefined drops the line that holds it. */
export interface ManifestValues {
  app: string;
  color: string;
  model: string;
  version: string;
  image: string;
  replicas: number;
  port: number;
  namespace: string;
  sha256?: string;
  /** CPU limit (= request), Kubernetes quantity: '1', '500m', '2'. */
  cpu: string;
  /** Memory limit (= request): '1Gi'. */
  memory: string;
  /** serve --workers: the CPU limit in whole cores, at least 1. */
  workers: number;
  /** With --hpa MIN:MAX. */
  minReplicas?: number;
  maxReplicas?: number;
}

/** serve's worker count for a CPU limit: whole cores, at least one (500m -> 1, 2.5 -> 2). */
export function workersForCpu(cpu: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(cpu.trim());
  if (!match) return undefined;
  const cores = Number(match[1]) / (match[2] ? 1000 : 1);
  if (!(cores > 0)) return undefined;
  return Math.max(1, Math.floor(cores));
}

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;
const WHOLE_PLACEHOLDER = /^\$\{([A-Za-z][A-Za-z0-9]*)\}$/;

/**
 * The built-in templates, or a team's own (`--templates DIR`, `templates:` in mlops.yaml):
 * a file missing from the team's folder falls back to the built-in one.
 */
export async function loadK8sTemplates(dir?: string): Promise<K8sTemplates> {
  const read = async (name: string) => {
    const builtIn = `${K8S_TEMPLATE_DIR.replace(/\/$/, '')}/${name}`;
    const own = dir ? `${dir.replace(/\/$/, '')}/${name}` : undefined;
    if (own) {
      try {
        return await readFile(own, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot read the manifest template ${own}: ${messageOf(error)}`, 'check --templates DIR (or templates: in mlops.yaml)');
      }
    }
    try {
      return await readFile(builtIn, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read the manifest template ${builtIn}: ${messageOf(error)}`, 'reinstall mlops; the templates ship in its templates/k8s/ folder');
    }
  };
  if (dir) {
    const isDir = await stat(dir).then((info) => info.isDirectory(), () => false);
    if (!isDir) throw new UsageError(`--templates ${dir} is not a folder`, `make a folder with your own ${Object.values(K8S_TEMPLATE_FILES).join(', ')} (any of them; the rest come from mlops)`);
  }
  const [deployment, service, podDisruptionBudget, hpa] = await Promise.all(Object.values(K8S_TEMPLATE_FILES).map(read));
  return { deployment: deployment!, service: service!, podDisruptionBudget: podDisruptionBudget!, hpa: hpa! };
}

/**
 * Fills the `${name}` placeholders of a YAML template. A whole unquoted placeholder
 * takes the value with its type (so `replicas: ${replicas}` is a number); anything
 * else becomes a string, quoted by the YAML writer when it must be.
 */
export function renderTemplate(text: string, values: Readonly<Record<string, string | number | undefined>>, source: string): string {
  // The template's opening comment explains placeholders; the rendered file gets its own.
  const doc = parseDocument(text.replace(/^(\s*#.*\n)+/, ''));
  if (doc.errors.length > 0) {
    throw new UsageError(`template ${source} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`, 'fix the template or reinstall mlops');
  }
  const known = (name: string) => Object.prototype.hasOwnProperty.call(values, name);
  const lookup = (name: string, inText: boolean) => {
    if (!known(name)) {
      throw new UsageError(`template ${source} uses the unknown placeholder \${${name}}`, `known placeholders: ${Object.keys(values).map((key) => `\${${key}}`).join(' ')}`);
    }
    const value = values[name];
    if (value === undefined && inText) {
      throw new UsageError(`template ${source} needs a value for \${${name}} inside text`, `put \${${name}} alone on its line, so that it can be left out`);
    }
    return value;
  };
  const emptied = new Set<YAMLMap>();
  visit(doc, {
    Pair(_key, pair, path) {
      const node = pair.value;
      if (!isScalar(node) || typeof node.value !== 'string' || node.type !== 'PLAIN') return undefined;
      const whole = WHOLE_PLACEHOLDER.exec(node.value);
      if (!whole?.[1] || lookup(whole[1], false) !== undefined) return undefined;
      const parent = path[path.length - 1];
      if (isMap(parent)) emptied.add(parent as YAMLMap);
      return visit.REMOVE;
    },
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const whole = WHOLE_PLACEHOLDER.exec(node.value);
      if (whole?.[1] && node.type === 'PLAIN') {
        node.value = lookup(whole[1], false);
      } else {
        node.value = node.value.replace(PLACEHOLDER, (_match, name: string) => String(lookup(name, true)));
      }
    },
  });
  // A map whose only entries were dropped (annotations without sha256) goes too.
  visit(doc, {
    Pair(_key, pair) {
      if (isMap(pair.value) && emptied.has(pair.value as YAMLMap) && pair.value.items.length === 0) return visit.REMOVE;
      return undefined;
    },
  });
  doc.commentBefore = ` Rendered by mlops from templates/k8s/${source}.`;
  return doc.toString({ lineWidth: 0 });
}

export function renderK8sManifests(values: ManifestValues, templates: K8sTemplates): RenderedManifests {
  // Every name is present, even when its value is undefined, so that it counts as known.
  const record: Record<string, string | number | undefined> = {
    app: values.app,
    color: values.color,
    model: values.model,
    version: values.version,
    image: values.image,
    replicas: values.replicas,
    port: values.port,
    namespace: values.namespace,
    sha256: values.sha256,
    cpu: values.cpu,
    memory: values.memory,
    workers: values.workers,
    minReplicas: values.minReplicas,
    maxReplicas: values.maxReplicas,
  };
  return {
    deployment: renderTemplate(templates.deployment, record, 'deployment.yaml'),
    service: renderTemplate(templates.service, record, 'service.yaml'),
    podDisruptionBudget: renderTemplate(templates.podDisruptionBudget, record, 'poddisruptionbudget.yaml'),
    ...(values.maxReplicas !== undefined ? { hpa: renderTemplate(templates.hpa, record, 'hpa.yaml') } : {}),
  };
}
