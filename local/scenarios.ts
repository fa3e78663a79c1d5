/**
 * Named demo scenarios: a world, an action (an ECR push) and what happened, as a summary a person
 * or a script can check.
 */
import { findTarget, type Target } from '../functions/shared/config.ts';
import type { Phase, ReleaseRecord } from '../functions/shared/store.ts';
import { percentages } from '../functions/shared/traffic.ts';
import type { FaultPlan } from './faults.ts';
import { LocalRuntime, type ProgressLine } from './runtime.ts';
import { buildWorld, serveTestListener } from './world.ts';

export interface Scenario {
  description: string;
  faults?: FaultPlan;
  /** The outcome the scenario demonstrates. */
  expect: string;
}

export const scenarios = {
  happy: {
    description:
      'v2 is pushed: snapshot and deploy to green in parallel, health-check, all traffic to green, blue kept warm, then scaled down',
    expect: 'Promoted',
  },
  'bad-image': {
    description:
      "v2's tasks fail their health checks: the release aborts, traffic never leaves blue, green goes back to 0",
    faults: { unhealthyTags: ['v2'] },
    expect: 'Aborted',
  },
} satisfies Record<string, Scenario>;
export type ScenarioName = keyof typeof scenarios;

export interface ScenarioSummary {
  scenario: string;
  releaseId: string;
  outcome: string;
  virtualSeconds: number;
  wallMs: number;
  phases: Pick<Phase, 'name' | 'startedAt' | 'endedAt'>[];
  weights: { blue: number; green: number };
  activeColour: 'blue' | 'green' | 'split';
  snapshotId: string | null;
  stateTransitions: number;
  lambdaInvocations: number;
  awsCalls: Record<string, number>;
  tasks: { blue: number; green: number };
  notifications: string[];
  error?: { Error: string; Cause: string };
}

/** Live weights (percent) of a target's main listener/rule, read from the simulated account. */
export const liveWeights = (runtime: LocalRuntime, target: Target) => {
  const raw = runtime.account.elbv2.weightsOf(
    target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? '',
  );
  return percentages({
    blue: raw[target.traffic.targetGroups.blue] ?? 0,
    green: raw[target.traffic.targetGroups.green] ?? 0,
  });
};

export const runningTasks = (runtime: LocalRuntime, target: Target) => {
  const out = runtime.account.ecs.DescribeServices({
    cluster: target.ecs.cluster,
    services: [target.ecs.services.blue, target.ecs.services.green],
  });
  const count = (name: string) => out.services.find((s) => s.serviceName === name)?.runningCount ?? 0;
  return { blue: count(target.ecs.services.blue), green: count(target.ecs.services.green) };
};

export const summarize = async (
  runtime: LocalRuntime,
  scenario: string,
  target: Target,
  release: ReleaseRecord | undefined,
  pushedAt: number,
  wallMs: number,
): Promise<ScenarioSummary> => {
  const execution = runtime.executions().find((e) => e.name === release?.releaseId);
  const weights = liveWeights(runtime, target);
  return {
    scenario,
    releaseId: release?.releaseId ?? '',
    outcome: release?.outcome ?? execution?.status ?? 'NotStarted',
    virtualSeconds: Math.round(((execution?.stopDate?.getTime() ?? Date.now()) - pushedAt) / 1000),
    wallMs: Math.round(wallMs),
    phases: (release?.phases ?? []).map(({ name, startedAt, endedAt }) => ({ name, startedAt, endedAt })),
    weights,
    activeColour: weights.blue === 100 ? 'blue' : weights.green === 100 ? 'green' : 'split',
    snapshotId: release?.snapshotId ?? null,
    stateTransitions: execution?.stateTransitions ?? 0,
    lambdaInvocations: runtime.lambda.invocations,
    awsCalls: { ...runtime.account.callsByService(), DynamoDB: runtime.dynamoCalls },
    tasks: runningTasks(runtime, target),
    notifications: runtime.account.sns.published.map((m) => m.subject ?? m.message),
    ...(release?.error ? { error: release.error } : {}),
  };
};

export interface RunOptions {
  targetsFile: string;
  seed?: number;
  onProgress?: (line: ProgressLine) => void;
  logLevel?: string;
}

/** Runs one scenario from a fresh simulated account: push v2 of the first target, settle, summarize. */
export const runScenario = async (name: ScenarioName, options: RunOptions): Promise<ScenarioSummary> => {
  const scenario: Scenario = scenarios[name];
  const wallStart = performance.now();
  let target: Target | undefined;
  const runtime = await LocalRuntime.start(
    {
      targetsFile: options.targetsFile,
      seed: options.seed,
      faults: scenario.faults,
      onProgress: options.onProgress,
      logLevel: options.logLevel,
    },
    async (rt) => {
      target = findTarget(rt.targets, rt.targets.targets[0]?.name ?? '');
      buildWorld(rt.account, target, { liveTag: 'v1' });
      await serveTestListener(rt.account, target);
    },
  );
  try {
    const t = target as Target;
    const pushedAt = Date.now();
    const { digest } = runtime.push(t.image.repository, 'v2');
    await runtime.settle();
    await runtime.drain();
    const execution = runtime.executions().find((e) => JSON.parse(e.input).image?.digest === digest);
    const release = execution ? await runtime.release(execution.name) : undefined;
    return await summarize(runtime, name, t, release, pushedAt, performance.now() - wallStart);
  } finally {
    await runtime.dispose();
  }
};
