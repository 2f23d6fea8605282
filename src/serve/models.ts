// The models a server serves: loading and warming every version the plan names, the A/B
// arms and shadows of each model, the hot reload that follows production promotions, and
// the lookups protocols make (which model a request names, which route it takes).
import { ExitCode, MlopsError, NotFoundError, messageOf } from '../errors.js';
import { experimentOf, type LiveExperiment } from '../registry/experiment-state.js';
import type { VersionRecord } from '../registry/types.js';
import type { OnServeEvent } from './events.js';
import { HttpError } from './http.js';
import type { ServeMetrics, VariantMetrics } from './metrics.js';
import { LoadedModel, type ModelSource } from './model.js';
import type { ServePlan } from './options.js';
import { bucketBounds, chooseVariant } from './routing.js';

/** One way a model's traffic can go: a loaded version under a variant name. */
export interface Route {
  model: LoadedModel;
  variant: string;
  experiment?: string;
  metrics: VariantMetrics;
}

export interface Experiment {
  name: string;
  /** The body field naming the user (a live experiment's --sticky; default user_id). */
  sticky?: string;
  bounds: number[];
  arms: Route[];
}

export interface Served {
  name: string;
  /** Follows the registry's production version (no NAME@VERSION, no experiment). */
  follows: boolean;
  /** The default route; undefined when an experiment owns all the traffic. */
  current?: Route;
  experiment?: Experiment;
  shadows: LoadedModel[];
  /** The registry's live experiment applied now (a key of its variants and shadow; '' for none). */
  liveKey?: string;
  /** The live experiment's shadow: a sampled fraction of requests (by request id). */
  liveShadow?: { model: LoadedModel; fraction: number };
}

/** One loaded version and the traffic it takes (GET /readyz, the CLI's start-up lines). */
export interface ServedVersion {
  model: string;
  version: string;
  variant: string;
  experiment?: string;
  shadow?: boolean;
}

export interface ModelSetDeps {
  plan: ServePlan;
  source: ModelSource;
  metrics: ServeMetrics;
  onEvent: OnServeEvent;
  random: () => number;
}

export class ModelSet {
  private readonly served = new Map<string, Served>();
  private readonly loaded = new Map<string, LoadedModel>();
  private watchTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly failedReloads = new Map<string, string>();
  private readonly reloadWarned = new Set<string>();

  constructor(private readonly deps: ModelSetDeps) {}

  /** Load and warm every model the plan names. */
  async load(): Promise<void> {
    const { plan, source } = this.deps;
    const experiments = new Map(plan.experiments.map((e) => [e.model, e]));
    const explicit = plan.models.length > 0;
    const names = explicit ? plan.models.map((m) => m.name) : await source.listModels();
    for (const name of experiments.keys()) if (!names.includes(name)) names.push(name);
    const refs = new Map(plan.models.map((m) => [m.name, m.ref]));

    for (const name of names) {
      if (this.stopped) throw new MlopsError('interrupted', 'stopped while loading models', ExitCode.interrupted);
      const served: Served = { name, follows: false, shadows: [] };
      const experiment = experiments.get(name);
      if (experiment) {
        const arms: Route[] = [];
        for (const variant of experiment.variants) {
          const model = await this.loadVersion(await source.resolve(name, variant.ref));
          arms.push(this.route(model, variant.name, experiment.name));
        }
        served.experiment = { name: experiment.name, bounds: bucketBounds(experiment.variants), arms };
      } else {
        const ref = refs.get(name);
        let record: VersionRecord;
        try {
          record = await source.resolve(name, ref ?? 'production');
        } catch (error) {
          // Serving "every model" skips the ones that have no production version yet.
          if (!explicit && error instanceof NotFoundError) {
            this.deps.onEvent({ type: 'warn', level: 'warn', message: `skipping ${name}: ${error.message}` });
            continue;
          }
          throw error;
        }
        served.follows = ref === undefined;
        served.current = this.route(await this.loadVersion(record), 'default');
      }
      this.served.set(name, served);
      if (served.follows) await this.followExperiment(served);
    }
    for (const shadow of plan.shadows) {
      const served = this.served.get(shadow.model);
      if (!served) {
        throw new NotFoundError(`--shadow ${shadow.model}@${shadow.ref}: ${shadow.model} is not served`, `serve it too: mlops serve ${shadow.model} --shadow ${shadow.model}@${shadow.ref}`);
      }
      const model = await this.loadVersion(await source.resolve(shadow.model, shadow.ref));
      this.deps.metrics.shadowLoaded(model.name, model.version);
      served.shadows.push(model);
    }
    if (this.served.size === 0) {
      const models = await source.listModels();
      throw new NotFoundError(
        models.length ? `none of the registry's models (${models.join(', ')}) has a production version to serve` : `the registry ${plan.registryDir} has no models`,
        models.length ? 'promote one (mlops promote NAME VERSION --to production) or name versions: mlops serve NAME@VERSION' : 'register one first: mlops register NAME MODEL.onnx',
      );
    }
    if (plan.watch) this.scheduleWatch();
  }

  route(model: LoadedModel, variant: string, experiment?: string): Route {
    return { model, variant, ...(experiment ? { experiment } : {}), metrics: this.deps.metrics.variant(model.name, model.version, variant) };
  }

  private async loadVersion(record: VersionRecord): Promise<LoadedModel> {
    const key = `${record.name}@${record.version}`;
    const existing = this.loaded.get(key);
    if (existing) return existing;
    const start = performance.now();
    const model = await LoadedModel.load(this.deps.source, record, { batchWindowMs: this.deps.plan.batchWindowMs, batchMaxRows: this.deps.plan.batchMaxRows });
    const ms = Math.round(performance.now() - start);
    this.loaded.set(key, model);
    this.deps.metrics.modelLoaded(model.name, model.version);
    this.deps.onEvent({ type: 'loaded', level: 'info', message: `loaded ${record.name} ${record.version} (${ms} ms, warmed)`, model: record.name, version: record.version, ms });
    return model;
  }

  /** What is being served, for the CLI's start-up lines and GET /readyz. */
  describe(): ServedVersion[] {
    const out: ServedVersion[] = [];
    for (const served of this.served.values()) {
      if (served.current) out.push({ model: served.name, version: served.current.model.version, variant: 'default' });
      for (const arm of served.experiment?.arms ?? []) out.push({ model: served.name, version: arm.model.version, variant: arm.variant, experiment: served.experiment!.name });
      for (const shadow of served.shadows) out.push({ model: served.name, version: shadow.version, variant: 'shadow', shadow: true });
      if (served.liveShadow) out.push({ model: served.name, version: served.liveShadow.model.version, variant: 'shadow', shadow: true, ...(served.experiment ? { experiment: served.experiment.name } : {}) });
    }
    return out;
  }

  names(): string[] {
    return [...this.served.keys()];
  }

  // ---------------------------------------------------------------- lookups for protocols

  /** The served model a request names, or the only one. */
  servedModel(name: unknown): Served {
    if (name === undefined) {
      if (this.served.size === 1) return this.served.values().next().value!;
      throw new HttpError(400, `say which model: add "model" (one of ${this.names().join(', ')})`, 'validation');
    }
    if (typeof name !== 'string') throw new HttpError(400, '"model" must be a string', 'validation');
    const served = this.served.get(name);
    if (!served) throw new HttpError(404, `model ${JSON.stringify(name.slice(0, 100))} is not served here; served: ${this.names().join(', ')}`, 'not_found');
    return served;
  }

  /** A/B choice, an explicit version, or the default route. */
  pick(served: Served, version: unknown, userId: string | undefined): Route {
    if (version !== undefined) {
      if (typeof version !== 'string') throw new HttpError(400, '"version" must be a string such as v1.0.0', 'validation');
      const arm = served.experiment?.arms.find((a) => a.model.version === version);
      if (arm) return arm;
      if (served.current?.model.version === version) return served.current;
      const shadow = served.shadows.find((m) => m.version === version);
      if (shadow) return this.route(shadow, 'default');
      if (served.liveShadow?.model.version === version) return this.route(served.liveShadow.model, 'default');
      throw new HttpError(404, `${served.name} ${version} is not loaded here; loaded: ${this.versionsOf(served).join(', ')}`, 'not_found');
    }
    if (served.experiment) {
      const { name, bounds, arms } = served.experiment;
      return arms[chooseVariant(name, bounds, userId, this.deps.random)]!;
    }
    return served.current!;
  }

  versionsOf(served: Served): string[] {
    const versions = new Set<string>();
    if (served.current) versions.add(served.current.model.version);
    for (const arm of served.experiment?.arms ?? []) versions.add(arm.model.version);
    for (const shadow of served.shadows) versions.add(shadow.version);
    if (served.liveShadow) versions.add(served.liveShadow.model.version);
    return [...versions];
  }

  // ---------------------------------------------------------------- hot reload

  private scheduleWatch(): void {
    if (this.stopped) return;
    this.watchTimer = setTimeout(() => {
      void this.checkForPromotions().finally(() => this.scheduleWatch());
    }, this.deps.plan.pollIntervalMs);
    this.watchTimer.unref();
  }

  /** One poll: load, warm and switch to any new production version; the old keeps serving on failure. */
  async checkForPromotions(): Promise<void> {
    await this.checkProduction();
    for (const served of this.served.values()) if (served.follows && !this.stopped) await this.followExperiment(served);
  }

  /**
   * Apply the registry's live experiment (variants, weights, shadow) to a model that
   * follows the registry: every version is loaded and warmed before any request is
   * routed to it; requests already holding a route finish on it.
   */
  async followExperiment(served: Served): Promise<void> {
    const readState = this.deps.source.readState?.bind(this.deps.source);
    if (!readState) return;
    let experiment: LiveExperiment | undefined;
    try {
      experiment = experimentOf((await readState(served.name)).state);
    } catch (error) {
      this.warnOnce(`${served.name}:experiment`, `cannot read ${served.name}'s experiment (${messageOf(error)}); routing stays as it is`, served.name);
      return;
    }
    const key = experiment ? JSON.stringify([experiment.name, experiment.variants.map((v) => [v.version, v.weight]), experiment.shadow ? [experiment.shadow.version, experiment.shadow.fraction] : null, experiment.sticky ?? null]) : '';
    if (key === (served.liveKey ?? '') || this.failedReloads.get(`${served.name}:experiment`) === key) return;
    const before = [...(served.experiment?.arms.map((a) => a.model) ?? []), ...(served.liveShadow ? [served.liveShadow.model] : [])];
    const arms: Route[] = [];
    let shadow: LoadedModel | undefined;
    try {
      if (experiment) {
        for (const variant of experiment.variants) arms.push(this.route(await this.loadVersion(await this.deps.source.resolve(served.name, variant.version)), variant.name, experiment.name));
        if (experiment.shadow) shadow = await this.loadVersion(await this.deps.source.resolve(served.name, experiment.shadow.version));
      }
    } catch (error) {
      this.failedReloads.set(`${served.name}:experiment`, key);
      this.deps.onEvent({ type: 'reload_failed', level: 'warn', message: `could not load ${served.name}'s experiment (${messageOf(error)}); routing stays as it is`, model: served.name });
      return;
    }
    if (this.stopped) return;
    this.failedReloads.delete(`${served.name}:experiment`);
    this.reloadWarned.delete(`${served.name}:experiment`);
    // One synchronous swap: a request sees either the old routing or the new one.
    served.experiment = experiment ? { name: experiment.name, bounds: bucketBounds(experiment.variants), arms, ...(experiment.sticky ? { sticky: experiment.sticky } : {}) } : undefined;
    if (experiment?.shadow && shadow) {
      this.deps.metrics.shadowLoaded(shadow.name, shadow.version);
      served.liveShadow = { model: shadow, fraction: experiment.shadow.fraction };
    } else delete served.liveShadow;
    this.deps.metrics.experiment(served.name, experiment?.name, experiment?.variants ?? []);
    const was = served.liveKey;
    served.liveKey = key;
    if (was !== undefined || experiment) {
      this.deps.onEvent({
        type: 'experiment',
        level: 'info',
        message: experiment
          ? `${served.name}: experiment ${experiment.name} routes ${experiment.variants.map((v) => `${v.version}=${v.weight}`).join(' ')}${experiment.shadow ? `, shadow ${experiment.shadow.version} on ${Math.round(experiment.shadow.fraction * 1000) / 10}%` : ''}`
          : `${served.name}: experiment stopped; ${served.current?.model.version ?? 'production'} takes all the traffic`,
        model: served.name,
      });
    }
    for (const old of before) {
      if (!this.inUse(old)) {
        this.loaded.delete(`${old.name}@${old.version}`);
        this.deps.metrics.modelUnloaded(old.name, old.version);
        void old.retire();
      }
    }
  }

  private warnOnce(key: string, message: string, model: string): void {
    if (this.reloadWarned.has(key)) return;
    this.reloadWarned.add(key);
    this.deps.onEvent({ type: 'reload_failed', level: 'warn', message, model });
  }

  private async checkProduction(): Promise<void> {
    for (const served of this.served.values()) {
      if (!served.follows || !served.current || this.stopped) continue;
      let record: VersionRecord;
      try {
        record = await this.deps.source.resolve(served.name, 'production');
        this.reloadWarned.delete(served.name);
      } catch (error) {
        if (!this.reloadWarned.has(served.name)) {
          this.reloadWarned.add(served.name);
          this.deps.onEvent({ type: 'reload_failed', level: 'warn', message: `cannot read ${served.name}'s production version (${messageOf(error)}); still serving ${served.current.model.version}`, model: served.name });
        }
        continue;
      }
      const old = served.current.model;
      if (record.version === old.version || this.failedReloads.get(served.name) === `${record.version}:${record.artifact.sha256}`) continue;
      let next: LoadedModel;
      try {
        next = await this.loadVersion(record);
      } catch (error) {
        this.failedReloads.set(served.name, `${record.version}:${record.artifact.sha256}`);
        this.deps.onEvent({ type: 'reload_failed', level: 'warn', message: `could not load ${served.name} ${record.version} (${messageOf(error)}); still serving ${old.version}`, model: served.name, version: record.version });
        continue;
      }
      if (this.stopped) return;
      this.failedReloads.delete(served.name);
      // Requests already holding the old route finish on the old session.
      served.current = this.route(next, 'default');
      this.deps.onEvent({ type: 'reloaded', level: 'info', message: `${served.name}: now serving ${record.version} (was ${old.version})`, model: served.name, from: old.version, to: record.version });
      if (!this.inUse(old)) {
        this.loaded.delete(`${old.name}@${old.version}`);
        this.deps.metrics.modelUnloaded(old.name, old.version);
        void old.retire();
      }
    }
  }

  private inUse(model: LoadedModel): boolean {
    for (const served of this.served.values()) {
      if (served.current?.model === model || served.shadows.includes(model) || served.liveShadow?.model === model || served.experiment?.arms.some((a) => a.model === model)) return true;
    }
    return false;
  }

  /** No more loading or reloading (drain, or a failed start). */
  stop(): void {
    this.stopped = true;
    if (this.watchTimer) clearTimeout(this.watchTimer);
  }

  /** Release every session (after the HTTP server closed). */
  async dispose(): Promise<void> {
    this.stop();
    for (const model of this.loaded.values()) await model.retire();
    this.loaded.clear();
  }
}
