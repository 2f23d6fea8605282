// Blue-green rollout, the apply part: runs a plan's kubectl calls in order, checks
// readiness before the switch, undoes the steps before the switch when one fails, and
// treats problems after the switch as warnings (the new version already serves).
import { setTimeout as delay } from 'node:timers/promises';
import { CheckFailedError, InterruptedError, NotFoundError, ToolMissingError, messageOf } from '../errors.js';
import type { Runner } from '../tools/runner.js';
import { Kubectl, formatCommand, kubectlCommands, kubectlMessage } from '../tools/kubectl.js';
import { parseDuration } from '../durations.js';
import { defaultApp, otherColor, planRollback, planRollout, targetOf, type RolloutInput, type RollbackInput, type RolloutEvent, type RolloutPlan, type RolloutResult, type RolloutStep, type RolloutStepId, type StepPlan } from './bluegreen-plan.js';
import { acquireDeployLock } from './bluegreen-lock.js';
import { randomUUID } from 'node:crypto';
import { colorOfService, deploymentProblem, obj, podsProblem, readClusterState } from './bluegreen-health.js';
import type { K8sTemplates } from './manifests.js';

export interface ApplyOptions {
  runner: Runner;
  onEvent?: (event: RolloutEvent) => void;
  /** Environment for kubectl (KUBECONFIG, ...). */
  env?: Record<string, string | undefined>;
  /** How to wait out --keep-old; tests pass a fake clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Ctrl-C / SIGTERM (a cancelled CI job): before the switch the new color is deleted, as on a failure. */
  signal?: AbortSignal;
}

class StepFailure extends Error {}

function rolloutTimeoutMs(plan: StepPlan): number {
  // kubectl enforces --timeout itself; the Runner's limit only catches a hung kubectl.
  return (parseDuration(plan.timeout) ?? 300_000) + 60_000;
}

async function runStep(kubectl: Kubectl, plan: StepPlan, step: RolloutStep, emit: (event: RolloutEvent) => void): Promise<void> {
  const command = step.command;
  if (!command) return;
  const expected = { replicas: plan.replicas, image: plan.image };
  if (step.id === 'check-deployment' || step.id === 'check-pods') {
    const value = await kubectl.readJson(command);
    if (!value) throw new StepFailure(`${plan.deployment} no longer exists`);
    const problem = step.id === 'check-deployment' ? deploymentProblem(value, expected) : podsProblem(value, expected);
    if (problem) throw new StepFailure(problem);
    return;
  }
  const result = await kubectl.run(command, {
    timeoutMs: step.id === 'rollout-status' ? rolloutTimeoutMs(plan) : undefined,
    onLine: (line) => emit({ type: 'log', step: step.id, message: line }),
  });
  if (result.exitCode !== 0) throw new StepFailure(kubectlMessage(result.stderr, `kubectl exited with code ${result.exitCode}`));
}

function failureHint(plan: StepPlan, step: RolloutStep): string {
  const traffic = plan.previousColor ? `traffic still goes to ${plan.previousColor}` : 'nothing was serving yet';
  switch (step.id) {
    case 'apply-deployment':
    case 'switch-service':
      return `${traffic}; the cluster refused the manifest: write it out with --output DIR and check it with kubectl apply --dry-run=server -f DIR`;
    case 'rollout-status':
    case 'check-deployment':
    case 'check-pods':
      return `${traffic}; check that the image starts and answers /readyz (docker run -p 8000:8000 ${plan.image}), or raise --timeout`;
    default:
      return traffic;
  }
}

async function executePlan(plan: StepPlan, options: ApplyOptions, describe: string): Promise<{ warnings: string[]; oldColor: RolloutResult['oldColor'] }> {
  const emit = options.onEvent ?? (() => undefined);
  // The --keep-old wait ends early on an interruption (the loop then stops tidying).
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, { signal: options.signal }).catch(() => undefined));
  const kubectl = new Kubectl(options.runner, { ...plan.target, env: options.env, signal: options.signal });
  // The clean-up must run even though the signal already stopped the step's kubectl.
  const cleanupKubectl = new Kubectl(options.runner, { ...plan.target, env: options.env });
  const warnings: string[] = [];
  let oldColor: RolloutResult['oldColor'] = 'none';
  let switched = false;
  for (const step of plan.steps) {
    emit({ type: 'step', step: step.id, message: step.title });
    if (!switched) {
      try {
        await runStep(kubectl, plan, step, emit);
      } catch (error) {
        if (error instanceof ToolMissingError) throw error;
        const reason = messageOf(error);
        const cleanupNote = await cleanUp(cleanupKubectl, plan, step.id, emit);
        if (options.signal?.aborted) {
          throw new InterruptedError(`${describe} interrupted at step "${step.id}"; ${plan.cleanup ? `${undoneAs(plan)}${cleanupNote}` : 'nothing was changed'}, the service was not switched`);
        }
        throw new CheckFailedError(`${describe} failed at step "${step.id}" (${step.title}): ${reason}; ${plan.cleanup ? undoneAs(plan) : 'nothing was changed'}${cleanupNote}`, failureHint(plan, step), 'rollout_failed', {
          step: step.id,
          reason,
          color: plan.color,
          liveColor: plan.previousColor ?? null,
        });
      }
      if (step.id === 'switch-service') switched = true;
      continue;
    }
    // After the switch the new version serves: problems with the old color are warnings,
    // and an interruption only cuts the tidying short.
    if (options.signal?.aborted) {
      const message = `interrupted before "${step.title}"; the new version is live${plan.previousDeployment ? ` and ${plan.previousDeployment} still runs: the next deploy or rollback scales it down` : ''}`;
      warnings.push(message);
      emit({ type: 'warning', step: step.id, message });
      if (plan.previousDeployment) oldColor = 'kept';
      break;
    }
    try {
      if (step.id === 'keep-old' || step.id === 'scale-down-delay') {
        await sleep(step.waitMs ?? 0);
        if (options.signal?.aborted) {
          const message = `interrupted while waiting; the new version is live and ${plan.previousDeployment ?? 'the old color'} still runs: the next deploy or rollback scales it down`;
          warnings.push(message);
          emit({ type: 'warning', step: step.id, message });
          oldColor = 'kept';
          break;
        }
        continue;
      }
      const afterWait = plan.steps.some((other) => other.id === 'keep-old' || other.id === 'scale-down-delay');
      if ((step.id === 'delete-old' || step.id === 'scale-old') && afterWait) {
        // Someone may have rolled back while we waited: never delete what is live.
        const service = await kubectl.readJson(kubectlCommands.getService(kubectl.target, plan.service));
        const live = service ? (obj(obj(service.spec).selector).color as string | undefined) : undefined;
        if (live !== plan.color) {
          const message = `service ${plan.service} now selects ${String(live)}; left ${plan.previousDeployment ?? ''} in place`;
          warnings.push(message);
          emit({ type: 'warning', step: step.id, message });
          oldColor = 'kept';
          continue;
        }
      }
      await runStep(kubectl, plan, step, emit);
      if (step.id === 'scale-old') oldColor = 'scaled-to-zero';
      if (step.id === 'delete-old') oldColor = 'deleted';
    } catch (error) {
      if (error instanceof ToolMissingError) throw error;
      const message = `${step.title} failed: ${messageOf(error)}`;
      warnings.push(message);
      emit({ type: 'warning', step: step.id, message });
      oldColor = 'kept';
    }
  }
  return { warnings, oldColor };
}

function undoneAs(plan: StepPlan): string {
  if (!plan.cleanup) return '';
  return plan.cleanup.args[0] === 'replace' ? `${plan.deployment} was put back as it was` : plan.cleanup.args[0] === 'scale' ? `${plan.deployment} was scaled back` : `${plan.deployment} was removed`;
}

async function cleanUp(kubectl: Kubectl, plan: StepPlan, failed: RolloutStepId, emit: (event: RolloutEvent) => void): Promise<string> {
  if (!plan.cleanup) return '';
  emit({ type: 'cleanup', step: failed, message: `undoing: ${formatCommand(plan.cleanup)}` });
  try {
    const result = await kubectl.run(plan.cleanup);
    if (result.exitCode === 0) return '';
    return `; cleaning up also failed (${kubectlMessage(result.stderr)}): run ${formatCommand(plan.cleanup)}`;
  } catch (error) {
    return `; cleaning up also failed (${messageOf(error)}): run ${formatCommand(plan.cleanup)}`;
  }
}

/** Runs a deploy plan. Throws CheckFailedError (exit 1) if a step before the switch fails. */
export async function applyRollout(plan: RolloutPlan, options: ApplyOptions): Promise<RolloutResult> {
  const { warnings, oldColor } = await executePlan(plan, options, `deploy of ${plan.model} ${plan.version} to ${plan.deployment}`);
  return {
    app: plan.app,
    namespace: plan.target.namespace,
    service: plan.service,
    deployment: plan.deployment,
    color: plan.color,
    ...(plan.previousColor ? { previousColor: plan.previousColor } : {}),
    image: plan.image,
    version: plan.version,
    replicas: plan.replicas,
    oldColor,
    warnings,
  };
}

/**
 * `mlops rollback NAME --deploy`: points the Service back at the other color, scaling
 * that color back up first if it was scaled to zero. NotFoundError if it was deleted.
 */
export async function rollbackRollout(runner: Runner, input: RollbackInput, options: Omit<ApplyOptions, 'runner' | 'env'> = {}): Promise<RolloutResult> {
  const app = input.app ?? defaultApp(input.model);
  const kubectl = new Kubectl(runner, { ...targetOf(input), env: input.env });
  await kubectl.preflight();
  const lock = await acquireDeployLock(kubectl, app, {
    holder: `${input.user ?? 'someone'}: mlops rollback ${input.model} --deploy (${randomUUID().slice(0, 8)})`,
    durationSeconds: Math.ceil((parseDuration(input.timeout ?? '300s') ?? 300_000) / 1000) + 120,
    now: input.now ?? (() => new Date()),
    what: 'rollback',
  });
  try {
    return await rollbackLocked(kubectl, app, input, { ...options, runner, env: input.env });
  } finally {
    await lock.release();
  }
}

async function rollbackLocked(kubectl: Kubectl, app: string, input: RollbackInput, options: ApplyOptions): Promise<RolloutResult> {
  const service = await kubectl.readJson(kubectlCommands.getService(kubectl.target, app));
  if (!service) {
    throw new NotFoundError(`service ${app} does not exist in namespace ${input.namespace}: nothing was deployed there to roll back`, `deploy first with mlops deploy ${input.model}`);
  }
  const liveColor = colorOfService(service, app, input.namespace);
  const previousName = `${app}-${otherColor(liveColor)}`;
  const previous = await kubectl.readJson(kubectlCommands.getDeployment(kubectl.target, previousName));
  if (!previous) {
    throw new NotFoundError(
      `deployment ${previousName} no longer exists, so there is no previous version to switch back to`,
      `deploy the version you want instead: mlops deploy ${input.model}@VERSION --image REPO`,
    );
  }
  const live = await kubectl.readJson(kubectlCommands.getDeployment(kubectl.target, `${app}-${liveColor}`));
  const plan = planRollback(input, { app, liveColor, previous, ...(live ? { live } : {}) });
  const { warnings, oldColor } = await executePlan(plan, options, `rollback of ${app} to ${plan.color}`);
  return {
    app,
    namespace: input.namespace,
    service: app,
    deployment: plan.deployment,
    color: plan.color,
    previousColor: liveColor,
    image: plan.image,
    ...(plan.version ? { version: plan.version } : {}),
    replicas: plan.replicas,
    oldColor,
    warnings,
  };
}

export interface DeployRolloutOptions extends ApplyOptions {
  /** Shown to a deploy the lock refuses: who holds it. */
  holder: string;
  now: () => Date;
  /** Seconds the lock holds without renewal: the whole rollout, scale-down delay included. */
  lockSeconds: number;
  /** Called with the plan once it is made (for the registry's record of a failure). */
  onPlan?: (plan: RolloutPlan) => void;
}

/**
 * A whole deploy on the cluster: preflight, the deploy lock, the cluster read under it,
 * the plan, the apply, and the lock released whatever happens.
 */
export async function deployRollout(runner: Runner, input: RolloutInput, templates: K8sTemplates, options: DeployRolloutOptions): Promise<RolloutResult> {
  // Validates the flags before the cluster is touched; the real plan is made under the lock.
  planRollout(input, undefined, templates);
  const app = input.app ?? defaultApp(input.model);
  const kubectl = new Kubectl(runner, { ...targetOf(input), env: options.env ?? input.env });
  await kubectl.preflight();
  const lock = await acquireDeployLock(kubectl, app, { holder: options.holder, durationSeconds: options.lockSeconds, now: options.now, what: 'deploy' });
  try {
    const state = await readClusterState(runner, input);
    const plan = planRollout(input, state.liveColor, templates, state.cluster);
    options.onPlan?.(plan);
    return await applyRollout(plan, { ...options, env: options.env ?? input.env });
  } finally {
    await lock.release();
  }
}
