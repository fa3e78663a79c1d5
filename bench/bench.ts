/**
 * `npm run bench`: releases and rollbacks in the local runtime (virtual time), measured. Virtual-
 * time figures are deterministic for a seed; wall time is the median (min–max) of several runs.
 * Prints a table per scenario, then the scale run (1,000 releases at once under the published API
 * rate limits, in its own process: bench/scale.ts) and the cold-start proxy (bench/cold-start.ts),
 * and writes bench/results.json. `npm run bench -- --quick` skips the scale and cold-start parts;
 * `--seed N` runs the scenarios on another seed (default 1); `--scenario NAME` runs that one
 * scenario's table and nothing else (no results.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findTarget, loadTargetsFile, type Target } from '../functions/shared/config.ts';
import { planSteps } from '../functions/shared/strategy.ts';
import { FUNCTION_MEMORY_MB } from '../infra/function-runtime.ts';
import {
  INIT_MS,
  initAtFunctionMemory,
  LAMBDA_LIMITS,
  MB_PER_VCPU,
} from '../local/execution-environments.ts';
import { prices } from '../local/prices.ts';
import { rollbackPath } from '../local/rollback-path.ts';
import type { LocalRuntime } from '../local/runtime.ts';
import { runRelease, type Scenario, scenarios } from '../local/scenarios.ts';
import { COLD_START_RATIO_GOAL, measureColdStarts } from './cold-start.ts';
import { measureRecovery, recoveryGoalSeconds } from './recovery.ts';

const RUNS = 3;
/** Issue 19's platform-wide rebuild: this many targets pushed at once, in one run (it takes minutes). */
const SCALE_TARGETS = 1000;
const SCALE_RUNS = 1;
/**
 * An idle account's push comes this long after its last release: past the 5-minute idle shutdown,
 * and half-way between two reconciler ticks (a push at a tick's instant meets that tick's warm-ups
 * holding the environments it needs: about 0.3 s of every 60 s, so 0.5% of pushes).
 */
const IDLE_SECONDS = 10 * 60 + 30;
/** `--seed N` picks the simulated account's randomness (latencies, delivery delays); default 1. */
const seedArg = process.argv.indexOf('--seed');
const SEED = seedArg > 0 ? Number(process.argv[seedArg + 1]) : 1;
if (!Number.isInteger(SEED) || SEED < 1) {
  process.stderr.write(`bench: --seed needs a positive integer, got ${process.argv[seedArg + 1]}\n`);
  process.exit(2);
}
const targetsFile = fileURLToPath(new URL('../local/targets.json', import.meta.url));
/** Read once: each scenario's target (its group's web rules set a rollback's call goal). */
const benchTargets = loadTargetsFile(targetsFile);

const benchScenarios: Record<string, Scenario> = {
  'all-at-once': scenarios.happy,
  'canary 10%': {
    description: 'payments-api, canary 10% for 10 minutes, then 100% and the 15-minute warm bake',
    target: 'payments-api',
    expect: 'Promoted',
  },
  'linear 10%': scenarios.linear,
  'alarm rollback (canary)': scenarios['canary-alarm'],
  'ops rollback (warm)': scenarios['ops-rollback-fast'],
  'migration + hooks': scenarios.migration,
  'release group + migration': scenarios['release-group'],
  'group rollback (alarm, canary)': {
    description:
      'bug-dedup (web + worker + beat), canary 10%: v2 answers half of real requests with 5xx; the alarm fires in the canary bake and the group goes back',
    target: 'bug-dedup',
    faults: { errorRates: { v2: 0.5 } },
    expect: 'RolledBack',
  },
  'group rollback (worker fails)': scenarios['release-group-worker-fails'],
};

interface Figures {
  outcome: string;
  leadSeconds: number;
  floorSeconds: number | null;
  /** Of the floor: EventBridge delivering the events the critical path waits on. */
  deliverySeconds: number | null;
  overheadSeconds: number | null;
  rollbackSeconds: number | null;
  rollbackCalls: Record<string, number> | null;
  /** Requests to Switchyard's own DynamoDB tables on the rollback path (not counted in the goal). */
  rollbackDynamo: number | null;
  /** The function whose write put the weights back. */
  rollbackBy: string | null;
  stateTransitions: number;
  lambdaInvocations: number;
  /** New execution environments (each an init of INIT_MS), the reconciler's included. */
  coldStarts: number;
  /** The same, by function. */
  coldStartsBy: Record<string, number>;
  billedSeconds: number;
  costUsd: number;
  calls: Record<string, number>;
  wallMs: number;
}

/** When the event about task `arn` reaching `status` reached `rule`'s target; `fallback` if it never did. */
const taskEventKnownAt = (
  runtime: LocalRuntime,
  arn: string,
  status: string,
  rule: string,
  fallback: number,
) => {
  const event = runtime.bus.emitted.find((e) => e.detail.taskArn === arn && e.detail.lastStatus === status);
  return (event && runtime.bus.deliveredAt(event.id, rule)) ?? fallback;
};

/**
 * Critical-path floor of a promoted release, AWS's own time: the push's delivery, then the later of
 * the snapshot (from its CreateDBSnapshot) and the deployments (each from its own UpdateService, the
 * primary's with its health grace), then the health check (the new colour's target-health read),
 * the hooks, a singleton's cut-over, and each traffic step: the alarm read that gates it (from the
 * second step on), its write and the read-back that verifies it, and its bake. Everything else
 * Switchyard does on the way is overhead.
 */
const floorOf = (runtime: LocalRuntime, target: Target, pushedAt: number, colour: string) => {
  const first = (match: (e: (typeof runtime.bus.emitted)[number]) => boolean) =>
    runtime.bus.emitted.find((e) => (runtime.bus.emittedAt.get(e.id) ?? 0) >= pushedAt && match(e));
  // The primary's deployment and each group member's (deployed side by side): the last to complete.
  const services = [target.ecs.services, ...target.group.map((m) => m.services)].map(
    (s) => s[colour as 'blue' | 'green'],
  );
  const completed = services.map((service) =>
    first(
      (e) =>
        e['detail-type'] === 'ECS Deployment State Change' &&
        e.detail.eventName === 'SERVICE_DEPLOYMENT_COMPLETED' &&
        (e.resources[0] ?? '').endsWith(`/${service}`),
    ),
  );
  const snapshot = first(
    (e) =>
      e['detail-type'] === 'RDS DB Snapshot Event' || e['detail-type'] === 'RDS DB Cluster Snapshot Event',
  );
  if (completed.some((e) => e === undefined)) throw new Error('bench: no deployment-completed event');
  const at = (e: { id: string }) => runtime.bus.emittedAt.get(e.id) ?? 0;
  // An event the release waits on is AWS's until it reaches Switchyard: EventBridge's delivery (the
  // delay local/bus.ts draws) is part of the floor, and counted apart so that it can be printed.
  let delivery = 0;
  const known = (e: { id: string }, rule: string) => runtime.bus.deliveredAt(e.id, rule) ?? at(e);
  // The push reaching the release rule is EventBridge's time (a manual release has no push to wait on).
  const push = first((e) => e['detail-type'] === 'ECR Image Action');
  const started = push ? known(push, 'ecr-push') : pushedAt;
  delivery += started - pushedAt;
  // AWS's work counts from the call that asked for it, not from the push: the steps before those
  // calls (start, lock, validation, the deploy's reads and registration) are Switchyard's own time.
  const log = runtime.account.callLog.filter((c) => c.at >= pushedAt);
  // Each deployment from its own UpdateService (a group member's comes after its own function's
  // reads), the first attempt ECS answered (a throttled one started nothing).
  const updatedAt = (service: string) => {
    const call = log.find(
      (c) =>
        c.call === 'ECS.UpdateService' &&
        !c.throttled &&
        c.ecsService === service &&
        (c.by === 'deploy-inactive-colour' || c.by === 'deploy-member'),
    );
    if (!call) throw new Error(`bench: no UpdateService of ${service} by a deploy step`);
    return call.at;
  };
  const snapshotFrom = log.find(
    (c) => c.call === 'RDS.CreateDBSnapshot' && c.by === 'backup-database' && !c.throttled,
  )?.at;
  const snapshotKnown = snapshot && snapshotFrom !== undefined ? known(snapshot, 'rds-snapshot') : undefined;
  const snapshotMs = snapshotKnown === undefined ? 0 : snapshotKnown - (snapshotFrom as number);
  const snapshotDelivery = snapshot && snapshotKnown !== undefined ? snapshotKnown - at(snapshot) : 0;
  // Each deployment's completion reaching Switchyard, and the health grace, which the state machine
  // counts from the primary's stability (HealthGrace): the longest of those, each from its own call.
  const primaryStable = at(completed[0] as { id: string });
  const graceMs = primaryStable + target.health.graceSeconds * 1000 - updatedAt(services[0] as string);
  const deliveredMs = completed.map((e, i) => {
    const event = e as { id: string };
    return {
      ms: known(event, 'ecs-deployment') - updatedAt(services[i] as string),
      delivery: known(event, 'ecs-deployment') - at(event),
    };
  });
  const slowest = deliveredMs.reduce((a, b) => (b.ms > a.ms ? b : a));
  const deploymentMs = Math.max(graceMs, slowest.ms);
  const deploymentDelivery = slowest.ms > graceMs ? slowest.delivery : 0;
  // preDeploy hooks: the snapshot, then the hooks (counted with the others below), then the
  // deployments. Otherwise the snapshot and the deployments run side by side: the longer counts.
  const sequential = target.hooks.preDeploy.length > 0;
  const ready = started + (sequential ? snapshotMs + deploymentMs : Math.max(snapshotMs, deploymentMs));
  delivery += sequential
    ? snapshotDelivery + deploymentDelivery
    : snapshotMs > deploymentMs
      ? snapshotDelivery
      : deploymentDelivery;
  const bakes = planSteps(target.traffic.strategy, target.bakeMinutes).reduce(
    (s, step) => s + step.bakeSeconds,
    0,
  );
  const ms = (by: string, call: string) =>
    log.filter((c) => c.by === by && c.call === call).reduce((sum, c) => sum + c.ms, 0);
  const health = ms('check-health', 'ELBv2.DescribeTargetHealth');
  const gates = ms('shift-traffic', 'CloudWatch.DescribeAlarms');
  // Each traffic change is one ModifyRule and the DescribeRules that verifies it.
  let changes = 0;
  log.forEach((c, i) => {
    if (c.call !== 'ELBv2.ModifyRule' || c.by !== 'shift-traffic') return;
    const verify = log.slice(i + 1).find((d) => d.call === 'ELBv2.DescribeRules' && d.by === c.by);
    changes += c.ms + (verify?.ms ?? 0);
  });
  // Hooks run one after another on the critical path: each from RunTask to its task's stop is ECS's
  // time (start latency and the command's own run), then EventBridge's, delivering the STOPPED event.
  let hooks = 0;
  for (const t of runtime.account.ecs.oneOff?.all() ?? []) {
    if (t.createdAt < pushedAt || t.stoppedAt === undefined) continue;
    const end = taskEventKnownAt(runtime, t.arn, 'STOPPED', 'hook-task-stopped', t.stoppedAt);
    hooks += end - t.createdAt;
    delivery += end - t.stoppedAt;
  }
  const cutover = cutoverMs(runtime, target, pushedAt);
  delivery += cutover.delivery;
  return {
    seconds: (ready - pushedAt) / 1000 + bakes + (health + gates + changes + hooks + cutover.ms) / 1000,
    deliverySeconds: delivery / 1000,
  };
};

/**
 * AWS's own time in a singleton's cut-over, on the critical path: from the old colour's scale-down
 * call to its last task STOPPED (the tasks' stop) and that event's delivery, and from the new
 * colour's scale-up call to its last task RUNNING (their start) and that event's delivery. The gaps
 * around them (invocations, calls) are Switchyard's.
 */
const cutoverMs = (runtime: LocalRuntime, target: Target, pushedAt: number) => {
  const log = runtime.account.callLog.filter((c) => c.at >= pushedAt && c.call === 'ECS.UpdateService');
  const stopCall = log.find((c) => c.by === 'stop-member');
  const startCall = log.find((c) => c.by === 'start-member');
  if (!stopCall || !startCall) return { ms: 0, delivery: 0 };
  const arn = (taskId: string) =>
    `arn:aws:ecs:${runtime.account.region}:${runtime.account.accountId}:task/${target.ecs.cluster}/${taskId}`;
  const known = (taskId: string, status: string, fallback: number) =>
    taskEventKnownAt(runtime, arn(taskId), status, 'group-tasks', fallback);
  let ms = 0;
  let delivery = 0;
  for (const m of target.group.filter((g) => g.role === 'singleton')) {
    const tasks = (colour: 'blue' | 'green') =>
      runtime.account.ecs.services.get(`${target.ecs.cluster}/${m.services[colour]}`);
    const stops = (tasks('blue')?.stopped ?? []).map((t) => {
      const stoppedAt = t.stoppedAt?.getTime() ?? 0;
      return { stoppedAt, known: known(t.id, 'STOPPED', stoppedAt) };
    });
    const starts = (tasks('green')?.tasks ?? []).map((t) => {
      const startedAt = t.startedAt?.getTime() ?? 0;
      return { startedAt, known: known(t.id, 'RUNNING', startedAt) };
    });
    const stopped = Math.max(...stops.map((s) => s.known));
    const started = Math.max(...starts.map((s) => s.known));
    ms += stopped - (stopCall.at + stopCall.ms) + (started - (startCall.at + startCall.ms));
    delivery +=
      stopped -
      Math.max(...stops.map((s) => s.stoppedAt)) +
      started -
      Math.max(...starts.map((s) => s.startedAt));
  }
  return { ms, delivery };
};

const measure = async (
  name: string,
  scenario: Scenario,
  seed: number,
  warmEnvironments?: Record<string, number>,
  idleSecondsBeforePush?: number,
): Promise<Figures> => {
  const wallStart = performance.now();
  let figures: Omit<Figures, 'wallMs'> | undefined;
  await runRelease(
    name,
    scenario,
    { targetsFile, seed, warmEnvironments, idleSecondsBeforePush },
    (runtime, { pushedAt, summary }) => {
      const target = findTarget(runtime.targets, scenario.target);
      const executions = runtime.executions();
      const release = executions.find((e) => e.name === summary.releaseId);
      const end = Math.max(...executions.map((e) => e.stopDate?.getTime() ?? 0));
      const transitions = executions.reduce((n, e) => n + e.stateTransitions, 0);
      const invocations = [...runtime.lambda.byFunction]
        .filter(([f]) => f !== 'reconciler')
        .reduce((n, [, c]) => n + c, 0);
      const promoted = summary.outcome === 'Promoted';
      const floor = promoted ? floorOf(runtime, target, pushedAt, 'green') : null;
      // Promoted is written by RecordOutcome; the lock release and the notices after it are not lead time.
      const recorded = summary.phases.find((p) => p.name === 'RecordOutcome')?.endedAt;
      const lead =
        ((promoted && recorded ? Date.parse(recorded) : (release?.stopDate?.getTime() ?? end)) - pushedAt) /
        1000;
      const commandAt =
        summary.commandAtSeconds === undefined ? undefined : pushedAt + summary.commandAtSeconds * 1000;
      // A group member failing in a bake: its task's stop (the event that ends the bake) is the trigger.
      const failedTask = runtime.bus.emitted.find(
        (e) =>
          e['detail-type'] === 'ECS Task State Change' &&
          String(e.detail.group ?? '').startsWith('service:') &&
          e.detail.stopCode === 'EssentialContainerExited' &&
          (runtime.bus.emittedAt.get(e.id) ?? 0) >= pushedAt,
      );
      // Measured from the signal that moved the weights: the STOPPED event, or, when a reconciler
      // tick read the stopping task first (DescribeTasks shows its stopCode from `stoppingAt` on),
      // from the moment the task began to stop.
      const path = promoted
        ? null
        : failedTask
          ? (rollbackPath(runtime, target, runtime.bus.emittedAt.get(failedTask.id), pushedAt, 'event') ??
            rollbackPath(
              runtime,
              target,
              new Date(failedTask.detail.stoppingAt as string).getTime(),
              pushedAt,
              'event',
            ))
          : rollbackPath(runtime, target, commandAt, pushedAt);
      const calls: Record<string, number> = Object.fromEntries([...runtime.account.calls].sort());
      calls['DynamoDB.*'] = runtime.dynamoCalls;
      figures = {
        outcome: summary.outcome,
        leadSeconds: lead,
        floorSeconds: floor?.seconds ?? null,
        deliverySeconds: floor?.deliverySeconds ?? null,
        overheadSeconds: floor === null ? null : lead - floor.seconds,
        rollbackSeconds: path?.seconds ?? null,
        rollbackCalls: path?.calls ?? null,
        rollbackDynamo: path?.dynamo ?? null,
        rollbackBy: path?.movedBy ?? null,
        stateTransitions: transitions,
        lambdaInvocations: invocations,
        coldStarts: runtime.lambda.environments.coldStarts,
        coldStartsBy: Object.fromEntries(runtime.lambda.environments.coldStartsBy),
        billedSeconds: runtime.lambda.billedMs / 1000,
        costUsd: summary.costUsd,
        calls,
      };
    },
  );
  if (!figures) throw new Error(`bench: ${name} produced no figures`);
  if (figures.outcome !== scenario.expect)
    throw new Error(`bench: ${name} ended ${figures.outcome}, expected ${scenario.expect}`);
  return { ...figures, wallMs: performance.now() - wallStart };
};

const out = (text: string) => process.stdout.write(`${text}\n`);
/** `{ a: 1, b: 2 }` as `a 1, b 2`. */
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const row = (label: string, value: string, note = '') =>
  out(`  ${label.padEnd(44)} ${value.padStart(22)}  ${note}`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] as number,
    min: sorted[0] as number,
    max: sorted.at(-1) as number,
  };
};

/** `--scenario NAME`: that one table only, to look at one figure without the whole run. */
const scenarioArg = process.argv.indexOf('--scenario');
const only = scenarioArg > 0 ? process.argv[scenarioArg + 1] : undefined;
if (only !== undefined && !(only in benchScenarios)) {
  process.stderr.write(
    `bench: no scenario "${only}"; pick one of: ${Object.keys(benchScenarios).join(', ')}\n`,
  );
  process.exit(2);
}

const results: Record<string, unknown> = {};
for (const [name, scenario] of Object.entries(benchScenarios)) {
  if (only !== undefined && name !== only) continue;
  const runs: Figures[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(name, scenario, SEED));
  const first = runs[0] as Figures;
  // The same release where each function starts with as many warm environments as it needed above
  // (the same release ran moments ago); one not used within 5 minutes is shut down, as any idle one.
  const warm = await measure(name, scenario, SEED, first.coldStartsBy);
  // The usual push: into an account whose last release ended more than 5 minutes ago, so every
  // environment has been shut down but those the reconciler's ticks keep warm (a release's first
  // functions, definitions.ts startChainFunctions).
  const idle = await measure(name, scenario, SEED, first.coldStartsBy, IDLE_SECONDS);
  const deterministic = runs.every(
    (r) =>
      r.leadSeconds === first.leadSeconds &&
      r.stateTransitions === first.stateTransitions &&
      r.rollbackSeconds === first.rollbackSeconds,
  );
  const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b);
  const wall = median(walls);
  const rollbackCallCount = first.rollbackCalls
    ? Object.values(first.rollbackCalls).reduce((n, c) => n + c, 0)
    : null;

  out(`\n${name}: ${scenario.description} → ${first.outcome}`);
  if (first.floorSeconds !== null && first.overheadSeconds !== null) {
    row('lead time (push → Promoted recorded)', `${first.leadSeconds.toFixed(1)} s`);
    row('floor (the critical path, see below)', `${first.floorSeconds.toFixed(1)} s`);
    row(
      '  of which EventBridge delivering its events',
      `${(first.deliverySeconds ?? 0).toFixed(1)} s`,
      `overhead counting it as Switchyard's: ${(first.overheadSeconds + (first.deliverySeconds ?? 0)).toFixed(1)} s`,
    );
    row(
      'overhead = lead − floor',
      `${first.overheadSeconds.toFixed(1)} s`,
      `${first.overheadSeconds <= 2 ? 'goal ≤ 2 s: met' : 'goal ≤ 2 s: NOT met'}; every function cold at first (just deployed: no environment yet)`,
    );
    const idleOverhead = idle.overheadSeconds ?? Number.NaN;
    row(
      '  the same release into an idle account',
      `${idleOverhead.toFixed(1)} s`,
      `${idleOverhead <= 2 ? 'goal ≤ 2 s: met' : 'goal ≤ 2 s: NOT met'}; the last release ${(IDLE_SECONDS / 60).toFixed(1)} minutes ago, only the reconciler's ticks keep environments warm: ${idle.coldStarts} cold starts`,
    );
    const warmOverhead = warm.overheadSeconds ?? Number.NaN;
    row(
      '  the same release, functions warm at its start',
      `${warmOverhead.toFixed(1)} s`,
      `${warmOverhead <= 2 ? 'goal ≤ 2 s: met' : 'goal ≤ 2 s: NOT met'}; cold starts cost ${(first.overheadSeconds - warmOverhead).toFixed(1)} s of the lead`,
    );
  } else {
    row('end (push → execution ended)', `${first.leadSeconds.toFixed(1)} s`);
  }
  if (first.rollbackSeconds !== null && rollbackCallCount !== null) {
    row(
      'time to rollback (trigger → weights verified)',
      `${first.rollbackSeconds.toFixed(2)} s`,
      first.rollbackSeconds <= 2 ? 'goal ≤ 2 s: met' : 'goal ≤ 2 s: NOT met',
    );
    if (warm.rollbackSeconds !== null)
      row('  the same rollback, functions warm at the start', `${warm.rollbackSeconds.toFixed(2)} s`);
    // A group's goal is per web rule: every rule is put back (write + read-back) on the same path.
    const webRules = 1 + findTarget(benchTargets, scenario.target).group.filter((m) => m.traffic).length;
    const perRule = rollbackCallCount / webRules;
    row(
      'AWS calls on that path',
      String(rollbackCallCount),
      `${perRule <= 3 ? 'met' : 'NOT met'}: goal ≤ 3${webRules > 1 ? ` per web rule (${webRules} rules)` : ''}; ${counts(first.rollbackCalls ?? {})}; weights moved by ${first.rollbackBy}`,
    );
    row(
      "  and requests to Switchyard's own tables",
      String(first.rollbackDynamo),
      'DynamoDB: the wait and its claim (and, for a rollback, the lock)',
    );
  }
  row(
    'state transitions',
    String(first.stateTransitions),
    name === 'all-at-once' ? (first.stateTransitions <= 40 ? 'goal ≤ 40: met' : 'goal ≤ 40: NOT met') : '',
  );
  row('Lambda invocations (without reconciler)', String(first.lambdaInvocations));
  row(
    'cold starts',
    String(first.coldStarts),
    `each a ${INIT_MS} ms init (local/execution-environments.ts); ${warm.coldStarts} with functions warm at the start (an environment idle 5 minutes is shut down)`,
  );
  row('Lambda billed duration', `${first.billedSeconds.toFixed(2)} s`, `at ${FUNCTION_MEMORY_MB} MB`);
  row('cost', `$${first.costUsd.toFixed(6)}`);
  row(
    'wall time',
    `${wall.median.toFixed(0)} ms`,
    `min ${wall.min.toFixed(0)}, max ${wall.max.toFixed(0)} over ${RUNS} runs`,
  );
  row(`deterministic across runs (seed ${SEED})`, deterministic ? 'yes' : 'NO');
  out(`  AWS API calls: ${counts(first.calls)}`);
  results[name] = {
    ...first,
    deterministic,
    wallMs: wall,
    wallMsRuns: walls,
    warm: {
      overheadSeconds: warm.overheadSeconds,
      rollbackSeconds: warm.rollbackSeconds,
      coldStarts: warm.coldStarts,
    },
    idleAccount: {
      overheadSeconds: idle.overheadSeconds,
      coldStarts: idle.coldStarts,
    },
  };
}
if (only !== undefined) process.exit(0);
out(
  "\nfloor: the push delivered + max(the snapshot from its CreateDBSnapshot to its event delivered, each deployment from its own UpdateService to its completion delivered, and the primary's to its stability + health grace) (with preDeploy hooks: the snapshot, then the deployments) + the target-health read of the health check + each hook task from RunTask to its STOPPED event delivered (ECS start latency, the command's own run, EventBridge's delivery) + a singleton's cut-over (the old tasks' stop and the new ones' start, each event delivered) + per traffic step (the alarm read that gates it from the second step on, ModifyRule and its verifying DescribeRules) + the configured bakes; each call at the latency the model drew for it",
);
out(
  `\nprices: SFN $0.025/1k transitions; Lambda Arm $0.20/1M requests, $0.0000133334/GB-s (${prices.source})`,
);

out(`\ntime to recover (virtual seconds; the maximum over each fault class's cases; seed ${SEED})`);
const recovery = await measureRecovery(SEED);
for (const r of recovery) {
  const goal = recoveryGoalSeconds(r.fault);
  row(
    `${r.fault} (${r.cases} cases)`,
    r.maxSeconds === null ? 'not recovered' : `${r.maxSeconds.toFixed(1)} s`,
    `${r.maxSeconds !== null && r.maxSeconds <= goal ? `goal ≤ ${goal} s: met` : `goal ≤ ${goal} s: NOT met`}; worst: ${r.worst}`,
  );
}
results['time to recover'] = recovery;

interface ScaleResult {
  releases: number;
  /** The RDS manual snapshot quota the run assumes (raised from AWS's default of 100). */
  snapshotQuota: number;
  outcomes: Record<string, number>;
  failedByThrottling: number;
  reconcilerFailures: number;
  throttledCalls: Record<string, number>;
  peakCallsPerSecond: Record<string, number>;
  peakAttemptsPerSecond: Record<string, number>;
  limits: string[];
  virtualSeconds: number;
  /** The slowest rate limit on every release's path, and when its last call was answered (virtual s). */
  floor: { limit: string; seconds: number; lastAnsweredSeconds: number };
  wallMs: number;
  peakRssMiB: number;
  stateTransitions: number;
  /** Of those, retries: Step Functions running a failed state again. */
  stateRetries: number;
  /** Calls to DynamoDB, and to the simulated services (attempted, and of those throttled). */
  calls: { dynamo: number; dynamoThrottled: Record<string, number>; attempted: number; throttled: number };
  /** Releases that waited for a turn, by step, and the longest wait (virtual s). */
  turnWaits: Record<string, { releases: number; longestSeconds: number }>;
  /** Lambda's execution environments over the run (bench/scale.ts). */
  lambda: {
    invocations: number;
    coldStarts: number;
    peakConcurrency: number;
    throttled: { concurrency: number; scaling: number };
    requeuedAfterThrottle: number;
    expiredEvents: number;
  };
}
// --- analysis: detection on real traffic, against alarms alone ---------------------------------
interface AnalysisBench {
  variant: string;
  seeds: number;
  healthySeeds: number;
  results: Record<
    string,
    { outcome: string; error?: string; secondsToWeightsBack?: number; withinCanaryBake?: boolean }[]
  >;
}
const analysisRun = (variant: 'analysis' | 'alarms', seeds: number, healthySeeds: number): AnalysisBench => {
  const stdout = execFileSync(
    process.execPath,
    [
      '--experimental-async-context-frame',
      fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url)),
      fileURLToPath(new URL('./analysis.ts', import.meta.url)),
      variant,
      String(seeds),
      String(healthySeeds),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  ).toString();
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as AnalysisBench;
};
const quick = process.argv.includes('--quick');
const analysisSeeds = quick ? 20 : 40;
const healthySeeds = quick ? 20 : 100;
out(
  `\nanalysis: a 10% canary baking 10 min on 20 requests/s, ${analysisSeeds} seeds per regression, ${healthySeeds} healthy; judged by analysis (+ the 5xx alarm) and by the alarm alone`,
);
const judged = {
  analysis: analysisRun('analysis', analysisSeeds, healthySeeds),
  alarms: analysisRun('alarms', analysisSeeds, healthySeeds),
};
for (const name of ['latency +30%', 'errors +2 points']) {
  const rate = (variant: 'analysis' | 'alarms') => {
    const runs = judged[variant].results[name] ?? [];
    const caught = runs.filter((r) => r.outcome === 'RolledBack' && r.withinCanaryBake).length;
    return { caught, of: runs.length, percent: runs.length ? (100 * caught) / runs.length : 0 };
  };
  const a = rate('analysis');
  const alone = rate('alarms');
  const times = (judged.analysis.results[name] ?? [])
    .flatMap((r) => (r.secondsToWeightsBack !== undefined ? [r.secondsToWeightsBack] : []))
    .sort((x, y) => x - y);
  row(
    `detected within the canary bake: ${name}`,
    `${a.caught}/${a.of} (${a.percent.toFixed(0)}%)`,
    `${a.percent >= 95 ? 'goal ≥ 95%: met' : 'goal ≥ 95%: NOT met'}; alarms alone: ${alone.caught}/${alone.of}`,
  );
  row(
    `  regression start → weights back: ${name}`,
    times.length ? `median ${times[Math.floor(times.length / 2)]?.toFixed(0)} s` : '-',
    times.length
      ? `worst ${times.at(-1)?.toFixed(0)} s (the regression starts with the canary's weight change)`
      : '',
  );
}
for (const name of ['latency +10% (tolerated)', 'errors +0.3 points (tolerated)']) {
  const runs = judged.analysis.results[name] ?? [];
  const back = runs.filter((r) => r.outcome !== 'Promoted').length;
  row(
    `rolled back though within tolerance: ${name.replace(' (tolerated)', '')}`,
    `${back}/${runs.length}`,
    'the config accepts these',
  );
}
const falsePositives = (variant: 'analysis' | 'alarms') =>
  (judged[variant].results.healthy ?? []).filter((r) => r.outcome !== 'Promoted').length;
row(
  'healthy releases rolled back (false positives)',
  `${falsePositives('analysis')}/${judged.analysis.healthySeeds}`,
  `${falsePositives('analysis') === 0 ? 'goal 0: met' : 'goal 0: NOT met'}; alarms alone: ${falsePositives('alarms')}/${judged.alarms.healthySeeds}`,
);
const analysisFigures = judged;

let scale: unknown = null;
let coldStarts: unknown = null;
if (!process.argv.includes('--quick')) {
  out(
    `\nscale: ${SCALE_TARGETS} releases of ${SCALE_TARGETS} targets pushed at once (a platform-wide rebuild), one simulated account enforcing API rate limits; ${SCALE_RUNS} run (minutes of wall time each)`,
  );
  const scaleRuns: ScaleResult[] = [];
  for (let i = 0; i < SCALE_RUNS; i++) {
    // Its own process each time, so peak memory is the run's own.
    const stdout = execFileSync(
      process.execPath,
      [
        // AsyncLocalStorage without a hook on every promise (Node 24's default; vitest's workers use it too).
        '--experimental-async-context-frame',
        fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url)),
        fileURLToPath(new URL('./scale.ts', import.meta.url)),
        String(SCALE_TARGETS),
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).toString();
    scaleRuns.push(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ScaleResult);
    process.stdout.write('.');
  }
  process.stdout.write('\n');
  const first = scaleRuns[0] as ScaleResult;
  const wall = median(scaleRuns.map((r) => r.wallMs));
  const rss = median(scaleRuns.map((r) => r.peakRssMiB));
  row('outcomes', counts(first.outcomes));
  row(
    'failed because of throttling',
    String(first.failedByThrottling),
    first.failedByThrottling === 0 ? 'goal 0: met' : 'goal 0: NOT met',
  );
  row(
    'reconciler runs that failed',
    String(first.reconcilerFailures),
    'each retried as Lambda retries an asynchronous invocation (1, then 2 minutes later), and the next tick runs',
  );
  row(
    'throttled calls (retried)',
    String(Object.values(first.throttledCalls).reduce((a, b) => a + b, 0)),
    counts(first.throttledCalls),
  );
  row(
    'calls per release',
    (first.calls.attempted / first.releases).toFixed(0),
    `to the simulated services, ${(first.calls.throttled / first.releases).toFixed(0)} of them throttled; and ${(first.calls.dynamo / first.releases).toFixed(0)} to DynamoDB`,
  );
  row(
    'releases that waited for their turn',
    Object.entries(first.turnWaits)
      .map(([step, w]) => `${step} ${w.releases}`)
      .join(', ') || 'none',
    `longest wait: ${
      Object.entries(first.turnWaits)
        .map(([step, w]) => `${step} ${w.longestSeconds} s`)
        .join(', ') || '-'
    } (functions/shared/registration-turns.ts: validations 2 a second, registrations 1 a second)`,
  );
  row(
    'DynamoDB writes refused (retried)',
    String(Object.values(first.calls.dynamoThrottled).reduce((a, b) => a + b, 0)),
    `past an item's partition throughput, 1,000 writes a second (local/dynamo-partitions.ts): ${counts(first.calls.dynamoThrottled)}`,
  );
  const lambda = first.lambda;
  row(
    'Lambda: invocations per release (reconciler too)',
    (lambda.invocations / first.releases).toFixed(1),
    `${lambda.coldStarts} cold starts; at most ${lambda.peakConcurrency} running at once (the account allows ${LAMBDA_LIMITS.account}); throttled ${lambda.throttled.concurrency} at the account's concurrency, ${lambda.throttled.scaling} at the scaling rate, ${lambda.requeuedAfterThrottle} of them asynchronous and queued again; ${lambda.expiredEvents} events expired in the queue`,
  );
  row('peak calls/s answered, per service', '', counts(first.peakCallsPerSecond));
  row('peak calls/s attempted, per service', '', counts(first.peakAttemptsPerSecond));
  row('virtual time to the last release ended', `${first.virtualSeconds.toFixed(0)} s`);
  row(
    'floor: the slowest rate limit on the critical path',
    `${first.floor.seconds.toFixed(0)} s`,
    `${first.floor.limit}: the last of ${first.releases} registrations at ${first.floor.seconds.toFixed(0)} s at the earliest; it was answered at ${first.floor.lastAnsweredSeconds.toFixed(0)} s (${((first.floor.lastAnsweredSeconds / first.floor.seconds) * 100).toFixed(0)}% of the bound), the last release ended ${(first.virtualSeconds - first.floor.lastAnsweredSeconds).toFixed(0)} s after it`,
  );
  row(
    'wall time',
    `${wall.median} ms`,
    `min ${wall.min}, max ${wall.max} over ${SCALE_RUNS} run(s); ${wall.median < 60_000 ? 'goal < 60 s: met' : 'goal < 60 s: NOT met'}`,
  );
  row(
    'peak memory (RSS) of the local engine',
    `${rss.median} MiB`,
    `min ${rss.min}, max ${rss.max}; ${rss.max < 1024 ? 'goal < 1 GiB: met' : 'goal < 1 GiB: NOT met'}`,
  );
  row(
    'state transitions',
    String(first.stateTransitions),
    `of which ${first.stateRetries} retries (each billed as a transition)`,
  );
  out(`  rate limits: ${first.limits.join('; ')}`);
  out(
    `  RDS manual snapshot quota: ${first.snapshotQuota} (AWS's default is 100 per Region; a platform with ${first.releases} databases has raised it, or its releases past the 100th abort at BackupDatabase)`,
  );
  const deterministic =
    scaleRuns.length > 1
      ? scaleRuns.every(
          (r) => r.virtualSeconds === first.virtualSeconds && r.stateTransitions === first.stateTransitions,
        )
      : undefined;
  row(
    'virtual figures deterministic across runs',
    deterministic === undefined ? 'not compared' : deterministic ? 'yes' : 'NO',
    deterministic !== false
      ? deterministic === undefined
        ? `one run; the scenarios above repeat theirs (${RUNS} runs each)`
        : ''
      : scaleRuns
          .map(
            (r) =>
              `${r.virtualSeconds} s / ${r.stateTransitions} transitions / ${Object.values(r.throttledCalls).reduce((a, b) => a + b, 0)} throttled`,
          )
          .join(' | '),
  );
  scale = {
    ...first,
    wallMs: wall,
    peakRssMiB: rss,
    deterministic,
    virtualSecondsRuns: scaleRuns.map((r) => r.virtualSeconds),
  };

  out(
    '\ncold-start proxy: each bundle imported in a fresh Node process (module initialisation), 7 interleaved rounds;',
  );
  out(
    `  ratio = median / the baseline's median (a bare middy + Powertools-logger handler); goal <= ${COLD_START_RATIO_GOAL}`,
  );
  const { functions: starts, parts } = await measureColdStarts(7);
  out(
    `  ${'function'.padEnd(26)} ${'bundle KB'.padStart(10)} ${'init ms median'.padStart(15)}  ${'min-max'.padEnd(9)} ${'ratio'.padStart(6)}  runtime-SDK ms`,
  );
  for (const c of starts) {
    const verdict = c.folder === 'baseline' ? '' : c.ratio <= COLD_START_RATIO_GOAL ? ' met' : ' not met';
    out(
      `  ${c.folder.padEnd(26)} ${c.bundleKb.toFixed(1).padStart(10)} ${c.initMs.median.toFixed(0).padStart(15)}  ${`${c.initMs.min.toFixed(0)}-${c.initMs.max.toFixed(0)}`.padEnd(9)} ${c.ratio.toFixed(2).padStart(6)}${verdict}${c.runtimeSdkMs === undefined ? '' : `  ${c.runtimeSdkMs.toFixed(0)}`}`,
    );
  }
  const over = starts.filter((c) => c.folder !== 'baseline' && c.ratio > COLD_START_RATIO_GOAL);
  out(
    `  every function within ${COLD_START_RATIO_GOAL}x the baseline: ${over.length === 0 ? 'met' : `not met (${over.length} of ${starts.length - 1} over)`}`,
  );
  // The local runtime's virtual init must not be kinder than what was just measured, scaled to the
  // functions' share of a vCPU (local/execution-environments.ts).
  const slowest = starts
    .filter((c) => c.folder !== 'baseline')
    .reduce((a, b) => (b.initMs.median > a.initMs.median ? b : a));
  const nodeStart = starts.find((c) => c.folder === 'baseline')?.runtimeStartMs ?? 0;
  const needed = initAtFunctionMemory(nodeStart + slowest.initMs.median);
  out(
    `  the local runtime's init (${INIT_MS} ms) covers Node's start (${nodeStart.toFixed(0)} ms) and the slowest init here (${slowest.folder}, ${slowest.initMs.median.toFixed(0)} ms) at ${FUNCTION_MEMORY_MB} MB (× ${MB_PER_VCPU}/${Math.min(FUNCTION_MEMORY_MB, MB_PER_VCPU)} = ${needed.toFixed(0)} ms): ${INIT_MS >= needed ? 'met' : 'NOT met'}`,
  );
  out('  what loads at init: the baseline with one dependency more, bundled and measured the same way');
  for (const p of parts) {
    const added = `${p.addedMs >= 0 ? '+' : ''}${p.addedMs.toFixed(0)} ms over the baseline`;
    const called =
      p.coldMs === undefined
        ? ''
        : `; first call ${p.firstCallMs?.toFixed(0)} ms, init + first call ${p.coldMs.toFixed(0)} ms`;
    out(
      `  ${p.part.padEnd(38)} ${p.bundleKb.toFixed(1).padStart(8)} KB ${p.initMs.median.toFixed(0).padStart(5)} ms  ${`${p.initMs.min.toFixed(0)}-${p.initMs.max.toFixed(0)}`.padEnd(7)} ${added}${called}`,
    );
  }
  // Deferring a client shortens the init; a cold start is the init and the first invocation.
  const eager = parts.find((p) => p.part === 'DynamoDB document client');
  const deferred = parts.find((p) => p.part === 'DynamoDB client, deferred to the call');
  if (eager?.coldMs !== undefined && deferred?.coldMs !== undefined) {
    out(
      `  deferring the DynamoDB client to the first call: init ${eager.initMs.median.toFixed(0)} -> ${deferred.initMs.median.toFixed(0)} ms, init + first call ${eager.coldMs.toFixed(0)} -> ${deferred.coldMs.toFixed(0)} ms (${deferred.coldMs <= eager.coldMs ? 'shorter' : 'longer'}: the work moves into the invocation)`,
    );
  }
  coldStarts = { functions: starts, parts };
}

mkdirSync(fileURLToPath(new URL('.', import.meta.url)), { recursive: true });
writeFileSync(
  fileURLToPath(new URL('./results.json', import.meta.url)),
  `${JSON.stringify({ runs: RUNS, prices, scenarios: results, analysis: analysisFigures, scale, coldStarts }, null, 2)}\n`,
);
process.exit(0);
