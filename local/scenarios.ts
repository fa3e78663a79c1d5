/**
 * Named demo scenarios: a world, an action (an ECR push) and what happened, as a summary a person
 * or a script can check.
 */
import { findTarget, type Target } from '../functions/shared/config.ts';
import { releaseIdFor } from '../functions/shared/requests.ts';
import type { Phase, ReleaseRecord } from '../functions/shared/store.ts';
import { percentages } from '../functions/shared/traffic.ts';
import { EcrModel } from './account/ecr-sns.ts';
import type { TargetGroupSettings } from './account/elbv2.ts';
import { approvalEmails, decideThroughPage, emailedLinks } from './approver.ts';
import type { FaultPlan } from './faults.ts';
import { lambdaCostUsd, transitionsCostUsd } from './prices.ts';
import { LocalRuntime, type ProgressLine } from './runtime.ts';
import { buildWorld, serveTestListener } from './world.ts';

export interface Scenario {
  description: string;
  /** The target (in the targets file) the scenario releases. */
  target: string;
  faults?: FaultPlan;
  /** A person decides through the emailed link (the page's real form, over HTTP). */
  approval?: {
    as: string;
    decision: 'approve' | 'reject';
    reason?: string;
    /** A second approver, for a target whose releases need two. */
    also?: string;
  };
  /** Webhook paths (e.g. `/slack/checkout-api`) that answer 500. */
  failingWebhooks?: string[];
  /** Virtual wall-clock time the world starts at (default Monday 2026-01-05 09:00 UTC). */
  startTime?: string;
  /**
   * An operator's rollback: during the release's old-colour-warm bake (the release holds the lock,
   * blue still runs), or after the release was promoted and blue scaled down.
   */
  rollback?: {
    when: 'warm-bake' | 'after-promoted';
    reason: string;
    /**
     * After promotion the new version starts answering this share of requests with 5xx, and the
     * command comes once the target's alarm fires: an incident, the rollback's usual reason.
     */
    incidentErrorRate?: number;
  };
  /** The outcome the scenario demonstrates (of the rollback, when there is one). */
  expect: string;
  /** Started by hand rather than by the push (the target's tagPattern does not take v2). */
  manual?: boolean;
  /** The target `target` is promoted from: built too, and the push may go there first. */
  upstream?: string;
  /** The tag pushed (default v2): an upstream's tag starts the chain there. */
  tag?: string;
}

export const scenarios = {
  happy: {
    description:
      'v2 is pushed: snapshot and deploy to green in parallel, health-check, all traffic to green, blue kept warm, then scaled down',
    target: 'checkout-api',
    expect: 'Promoted',
  },
  'bad-image': {
    description:
      "v2's tasks fail their health checks: the release aborts, traffic never leaves blue, green goes back to 0",
    target: 'checkout-api',
    faults: { unhealthyTags: ['v2'] },
    expect: 'Aborted',
  },
  'canary-alarm': {
    description:
      'canary 10%: v2 passes its health checks but fails half of real requests; the 5xx alarm fires during the canary bake and traffic goes back to blue',
    target: 'payments-api',
    faults: { errorRates: { v2: 0.5 } },
    expect: 'RolledBack',
  },
  'latency-regression': {
    description:
      "canary 10%: v2 answers every request, but 50% slower (p95 270 ms against 180 ms); no alarm sees it, the analysis does: its p95 per minute against blue's (Mann-Whitney) fails the canary and traffic goes back to blue",
    target: 'payments-api',
    faults: { latencyMs: { v2: 270 } },
    expect: 'RolledBack',
  },
  linear: {
    description:
      'linear 10% steps with a 2-minute bake each, watching the alarm, then 100% and the warm bake',
    target: 'search-api',
    expect: 'Promoted',
  },
  migration: {
    description:
      'ledger-api (the reconciliation service): after the snapshot and the health check, `alembic upgrade head` runs as a one-off task of v2 (an expand migration), then a smoke test; traffic moves by canary; a check runs at 100% with blue still warm',
    target: 'ledger-api',
    expect: 'Promoted',
  },
  'migration-fails': {
    description:
      "ledger-api: the migration's container exits 1; the release aborts before any traffic moves, green goes back to 0 and the snapshot is kept",
    target: 'ledger-api',
    faults: { tasks: { 'alembic upgrade head': { exitCode: 1 } } },
    expect: 'Aborted',
  },
  'load-test': {
    description:
      'tiu-web: a k6 load test runs against v2 before production traffic and must show p95 < 2 s, errors < 5% and at least 10 requests/s',
    target: 'tiu-web',
    expect: 'Promoted',
  },
  'load-test-slow': {
    description:
      "tiu-web: v2 answers with a p95 of about 3.5 s; the load test's figures miss p95 and requests/s, and the release aborts with nothing shifted",
    target: 'tiu-web',
    faults: { latencyMs: { v2: 3500 } },
    expect: 'Aborted',
  },
  'release-group': {
    description:
      'bug-dedup (Flask web + Celery worker + Celery beat, one image): `flask db upgrade` runs after the snapshot and before any new colour starts (preDeploy), the three new colours are judged together, traffic moves by canary; at 100% the old beat stops and the new one starts only once it has STOPPED (never two schedulers); then every old colour goes to 0',
    target: 'bug-dedup',
    expect: 'Promoted',
  },
  'release-group-worker-fails': {
    description:
      "bug-dedup: v2's Celery worker starts, then exits 1 on real work during the canary bake; the whole group goes back as one (the web's weights, the worker's new colour to 0, the old beat still the only one)",
    target: 'bug-dedup',
    faults: { crashAfterSeconds: { 'worker:v2': 660 } },
    expect: 'RolledBack',
  },
  'ops-rollback-fast': {
    description:
      'ops roll back during the 20-minute warm bake: the rollback puts all traffic back on the still-warm blue in one verified weight change, and the release stops',
    target: 'checkout-api',
    rollback: { when: 'warm-bake', reason: 'checkout latency regression reported by support' },
    expect: 'RolledBack',
  },
  'ops-rollback-slow': {
    description:
      'after promotion (blue scaled to 0) v2 starts failing 5% of requests and its 5xx alarm fires; ops roll back: the last good task definition is redeployed to blue, checked (not held up by the alarm v2 set off), and traffic moves back',
    target: 'checkout-api',
    rollback: { when: 'after-promoted', reason: '5xx since v2', incidentErrorRate: 0.05 },
    expect: 'RolledBack',
  },
  approval: {
    description:
      'orders-api needs an approver: alice opens the emailed link (a confirmation page; GET decides nothing) and presses Approve',
    target: 'orders-api',
    approval: { as: 'alice@example.com', decision: 'approve' },
    expect: 'Promoted',
  },
  'approval-rejected': {
    description:
      'bob opens his link and rejects with a reason: the release stops before any traffic moves, green cleaned up',
    target: 'orders-api',
    approval: { as: 'bob@example.com', decision: 'reject', reason: 'release freeze for the audit' },
    expect: 'Aborted',
  },
  freeze: {
    description:
      'pushed on a Friday at 16:59 Berlin time: green is deployed, but no traffic moves until the 17:00-20:00 freeze window ends',
    target: 'billing-api',
    startTime: '2026-01-09T15:59:00Z',
    expect: 'Promoted',
  },
  promotion: {
    description:
      'v2-rc.1 is pushed: tiu-staging releases it and ends Promoted, then soaks 30 min with no alarm and no rollback; on SoakCompleted tiu-production starts by itself with the same digest, its approval email carries the staging evidence, alice approves',
    target: 'tiu-production',
    upstream: 'tiu-staging',
    tag: 'v2-rc.1',
    approval: { as: 'alice@example.com', decision: 'approve' },
    expect: 'Promoted',
  },
  'promotion-blocked': {
    description:
      "v3 is pushed and matches production's tag pattern, but tiu-staging never released that digest: the promotion gate refuses it before anything is touched, naming the missing evidence",
    target: 'tiu-production',
    upstream: 'tiu-staging',
    tag: 'v3',
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
  phases: Pick<Phase, 'name' | 'startedAt' | 'endedAt' | 'status' | 'detail'>[];
  weights: { blue: number; green: number };
  activeColour: 'blue' | 'green' | 'split';
  snapshotId: string | null;
  stateTransitions: number;
  lambdaInvocations: number;
  /** Of those, the warm-ups (keep-warm.ts): each runs a function's init ahead of its step. */
  warmUps: number;
  /** What the run's executions and invocations cost at published prices (local/prices.ts), in USD. */
  costUsd: number;
  /** Of that, the warm-ups' requests and billed time. */
  warmUpCostUsd: number;
  /** Of those, the ones that started a new execution environment (each spent the init first). */
  coldStarts: number;
  awsCalls: Record<string, number>;
  tasks: { blue: number; green: number };
  notifications: string[];
  /** Slack/Teams webhook posts received (path and HTTP status), in order. */
  webhooks: { path: string; status: number }[];
  /** Notifications the release could not deliver (counted on its record). */
  notificationFailures: number;
  strategy: string;
  /** Percent on the new colour after each weight change the release made, in order. */
  trafficSteps: number[];
  /** Of the requests served from the first weight change to the end, the share the new colour took. */
  newColourSharePercent: number;
  /** Virtual seconds from the first alarm (or the ops command) to the weights verified back; null if none. */
  timeToRollbackSeconds: number | null;
  alarms: { alarm: string; state: string; atSeconds: number }[];
  /** What each hook did (point, name, result). */
  hooks: string[];
  /** Each member of the target's group: its live colour and tasks (empty without a group). */
  group: { name: string; role: string; live: string; blue: string; green: string }[];
  /**
   * Instants a singleton of the group ran tasks in both colours at once (every task change
   * watched: RUNNING or still STOPPING counts); 0 is the promise.
   */
  singletonOverlaps: number;
  /** With an operator's rollback: the release's own outcome (`outcome` is the rollback's). */
  releaseOutcome?: string;
  /** With an approval: the emailed link, and the HTTP statuses of its page (GET) and of the decision (POST). */
  approval?: {
    link: string;
    pageStatus: number | null;
    resultStatus: number | null;
    /** The upstream evidence the approval email showed (a promoted release). */
    evidence?: string[];
  };
  /** With an operator's rollback: virtual seconds from the push to the rollback command. */
  commandAtSeconds?: number;
  /** The operator's rollback, when the scenario has one. */
  rollback?: { rollbackId: string; outcome: string; path: string | null; rollbackOf: string | null };
  /** The release holding the target's lock after the run (null: free, as it must be). */
  lockHeldBy?: string | null;
  /** A target promoted from another: the upstream evidence its release carried (or why not). */
  promotion?: { from: string; releaseId: string | null; soak: string | null; overridden: string | null };
  error?: { Error: string; Cause: string };
}

/**
 * Every instant (each task state change) a singleton of the target's group ran tasks alive in both
 * colours: RUNNING, or STOPPING (its process may still be working). Attach before the release.
 */
export const watchSingletons = (runtime: LocalRuntime, target: Target): string[] => {
  const seen: string[] = [];
  runtime.account.ecs.onTaskChange(() => {
    for (const m of target.group.filter((g) => g.role === 'singleton')) {
      const blue = runtime.account.ecs.aliveTasks(target.ecs.cluster, m.services.blue);
      const green = runtime.account.ecs.aliveTasks(target.ecs.cluster, m.services.green);
      if (blue > 0 && green > 0)
        seen.push(`I9: ${new Date().toISOString()} singleton ${m.name} runs blue ${blue} and green ${green}`);
    }
  });
  overlaps.set(runtime, seen);
  return seen;
};
const overlaps = new WeakMap<LocalRuntime, string[]>();

/** Each group member's live colour (a web member's from its rule, the others' from which runs) and tasks. */
const groupState = (runtime: LocalRuntime, target: Target): ScenarioSummary['group'] =>
  target.group.map((m) => {
    const services = runtime.account.ecs.DescribeServices({
      cluster: target.ecs.cluster,
      services: [m.services.blue, m.services.green],
    }).services;
    const of = (colour: 'blue' | 'green') => services.find((s) => s.serviceName === m.services[colour]);
    const tasks = (colour: 'blue' | 'green') =>
      `${of(colour)?.runningCount ?? 0}/${of(colour)?.desiredCount ?? 0}`;
    const running = (['blue', 'green'] as const).filter((c) => (of(c)?.desiredCount ?? 0) > 0);
    return {
      name: m.name,
      role: m.role,
      live: running.length === 1 ? (running[0] as string) : running.length === 0 ? 'none' : 'both',
      blue: tasks('blue'),
      green: tasks('green'),
    };
  });

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

/** The new colour's percent at each weight change after `from`, and its time-weighted share until `to`. */
export const trafficShare = (
  runtime: LocalRuntime,
  target: Target,
  newColour: 'blue' | 'green',
  from: number,
  to: number,
) => {
  const where = target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? '';
  const changes = runtime.account.elbv2.weightHistory
    .filter((h) => h.where === where && h.at >= from && h.at <= to)
    .map((h) => {
      const mine = h.weights[target.traffic.targetGroups[newColour]] ?? 0;
      const other = h.weights[target.traffic.targetGroups[newColour === 'blue' ? 'green' : 'blue']] ?? 0;
      return { at: h.at, percent: mine + other === 0 ? 0 : Math.round((mine * 100) / (mine + other)) };
    });
  let weighted = 0;
  changes.forEach((c, i) => {
    weighted += c.percent * ((changes[i + 1]?.at ?? to) - c.at);
  });
  const span = to - (changes[0]?.at ?? to);
  return {
    steps: changes.map((c) => c.percent),
    sharePercent: span > 0 ? Math.round((weighted / span) * 10) / 10 : 0,
  };
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
  const endedAt = execution?.stopDate?.getTime() ?? Date.now();
  const traffic = trafficShare(runtime, target, release?.toColour ?? 'green', pushedAt, endedAt);
  // Through the last execution's end: an operator's rollback after the release is part of the story.
  const lastEndedAt = Math.max(endedAt, ...runtime.executions().map((e) => e.stopDate?.getTime() ?? 0));
  const alarms = runtime.account.cloudwatch.history
    .filter((h) => h.at >= pushedAt && h.at <= lastEndedAt)
    .map((h) => ({ alarm: h.alarm, state: h.state, atSeconds: Math.round((h.at - pushedAt) / 100) / 10 }));
  const firstAlarm = alarms.find((a) => a.state === 'ALARM');
  const restoredAt = release?.trafficRestoredAt ? Date.parse(release.trafficRestoredAt) : undefined;
  return {
    scenario,
    releaseId: release?.releaseId ?? '',
    outcome: release?.outcome ?? execution?.status ?? 'NotStarted',
    virtualSeconds: Math.round(((execution?.stopDate?.getTime() ?? Date.now()) - pushedAt) / 1000),
    wallMs: Math.round(wallMs),
    // By start time: waits are appended when they end, after the steps that ran meanwhile.
    phases: (release?.phases ?? [])
      .map(({ name, startedAt, endedAt, status, detail }) => ({ name, startedAt, endedAt, status, detail }))
      .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)),
    weights,
    activeColour: weights.blue === 100 ? 'blue' : weights.green === 100 ? 'green' : 'split',
    snapshotId: release?.snapshotId ?? null,
    stateTransitions: execution?.stateTransitions ?? 0,
    lambdaInvocations: runtime.lambda.invocations,
    warmUps: runtime.lambda.warmUps,
    costUsd:
      transitionsCostUsd(runtime.executions().reduce((n, e) => n + e.stateTransitions, 0)) +
      lambdaCostUsd(runtime.lambda.invocations, runtime.lambda.billedMs),
    warmUpCostUsd: lambdaCostUsd(runtime.lambda.warmUps, runtime.lambda.warmUpBilledMs),
    coldStarts: runtime.lambda.environments.coldStarts,
    awsCalls: { ...runtime.account.callsByService(), DynamoDB: runtime.dynamoCalls },
    tasks: runningTasks(runtime, target),
    notifications: runtime.account.sns.published.map((m) => m.subject ?? m.message),
    webhooks: runtime.account.webhooks.received.map(({ path, status }) => ({ path, status })),
    notificationFailures: release?.notificationFailures ?? 0,
    strategy: target.traffic.strategy.type,
    trafficSteps: traffic.steps,
    newColourSharePercent: traffic.sharePercent,
    timeToRollbackSeconds:
      firstAlarm && restoredAt
        ? Math.round((restoredAt - (pushedAt + firstAlarm.atSeconds * 1000)) / 100) / 10
        : null,
    alarms,
    hooks: (release?.hooks ?? []).map((h) => `${h.point} ${h.name}: ${h.detail}`),
    group: groupState(runtime, target),
    singletonOverlaps: overlaps.get(runtime)?.length ?? 0,
    ...(release?.promotion
      ? {
          promotion: {
            from: release.promotion.from,
            releaseId: release.promotion.releaseId ?? null,
            soak: release.promotion.soak
              ? `${release.promotion.soak.minutes} min, ${release.promotion.soak.status}${release.promotion.soak.detail ? ` (${release.promotion.soak.detail})` : ''}`
              : null,
            overridden: release.promotion.overridden ?? null,
          },
        }
      : {}),
    ...(release?.error ? { error: release.error } : {}),
  };
};

export interface RunOptions {
  targetsFile: string;
  /** Instead of deciding through the page, hand the approver's link to a person and wait. */
  interactive?: (link: string, runtime: LocalRuntime, releaseId: string) => Promise<void>;
  seed?: number;
  onProgress?: (line: ProgressLine) => void;
  logLevel?: string;
  /** Period of the reconciler's ticks (default 60 s). */
  reconcileEverySeconds?: number;
  /** The target groups' settings (default: ELBv2's own defaults, as an untuned target group). */
  targetGroup?: TargetGroupSettings;
  /** Idle environments per function at the start (local/runtime.ts); default none, all cold. */
  warmEnvironments?: Record<string, number>;
  /**
   * Virtual seconds the account idles before the push, the reconciler ticking: an environment
   * idle 5 minutes is shut down unless a tick keeps it warm (the bench's idle account).
   */
  idleSecondsBeforePush?: number;
}

/** Runs one scenario from a fresh simulated account: push v2 of its target, settle, summarize. */
export const runScenario = (name: ScenarioName, options: RunOptions): Promise<ScenarioSummary> =>
  runRelease(name, scenarios[name], options);

/** Runs any scenario definition (tests use this for variations the demo does not list). */
export const runRelease = async (
  name: string,
  scenario: Scenario,
  options: RunOptions,
  /** Reads more from the runtime before it is disposed (the bench). */
  inspect?: (runtime: LocalRuntime, context: { pushedAt: number; summary: ScenarioSummary }) => void,
): Promise<ScenarioSummary> => {
  const wallStart = performance.now();
  let target: Target | undefined;
  const runtime = await LocalRuntime.start(
    {
      targetsFile: options.targetsFile,
      seed: options.seed,
      faults: scenario.faults,
      ...(scenario.startTime ? { startTime: new Date(scenario.startTime) } : {}),
      onProgress: options.onProgress,
      logLevel: options.logLevel,
      reconcileEverySeconds: options.reconcileEverySeconds,
      warmEnvironments: options.warmEnvironments,
    },
    async (rt) => {
      target = findTarget(rt.targets, scenario.target);
      if (scenario.upstream) {
        const upstream = findTarget(rt.targets, scenario.upstream);
        buildWorld(rt.account, upstream, { liveTag: 'v1', targetGroup: options.targetGroup });
        await serveTestListener(rt.account, upstream);
      }
      buildWorld(rt.account, target, { liveTag: 'v1', targetGroup: options.targetGroup });
      watchSingletons(rt, target);
      await serveTestListener(rt.account, target);
      for (const path of scenario.failingWebhooks ?? []) rt.account.webhooks.failing.add(path);
    },
  );
  try {
    const t = target as Target;
    if (options.idleSecondsBeforePush) await runtime.wait(options.idleSecondsBeforePush);
    const pushedAt = Date.now();
    // A target whose tagPattern a push of v2 would not match is released by hand, as an operator
    // would (`switchyard release --tag v2`): the push alone would start nothing.
    const tag = scenario.tag ?? 'v2';
    if (scenario.manual) runtime.startRelease({ target: t.name, tag, by: 'demo@example.com' });
    const { digest } = scenario.manual
      ? { digest: EcrModel.digestOf(t.image.repository, tag) }
      : runtime.push(t.image.repository, tag);
    // The target's own release of the image (an upstream releases the same digest first).
    const releaseOf = async () => {
      const execution = runtime
        .executions()
        .find((e) => JSON.parse(e.input).image?.digest === digest && JSON.parse(e.input).target === t.name);
      return execution ? runtime.release(execution.name) : undefined;
    };
    let rollbackId: string | undefined;
    let commandAt: number | undefined;
    let approval: ScenarioSummary['approval'];
    if (scenario.approval) {
      const { as, decision, reason } = scenario.approval;
      const releaseId = releaseIdFor(t.name, digest);
      const parked = await runtime.runUntil(() => emailedLinks(runtime, releaseId, as).approve !== undefined);
      const links = emailedLinks(runtime, releaseId, as);
      const link = decision === 'approve' ? links.approve : links.reject;
      if (!parked || !link) throw new Error(`no approval link was emailed to ${as}`);
      const evidence = (approvalEmails(runtime, releaseId)[0]?.body ?? '')
        .split('\n')
        .filter((line) => /^(Promoted from|Upstream |Promotion gate)/.test(line));
      if (options.interactive) {
        await options.interactive(link, runtime, releaseId);
        approval = { link, pageStatus: null, resultStatus: null, ...(evidence.length ? { evidence } : {}) };
      } else {
        const { page, result } = await decideThroughPage(link, decision, reason);
        approval = {
          link,
          pageStatus: page.status,
          resultStatus: result.status,
          ...(evidence.length ? { evidence } : {}),
        };
        const second =
          scenario.approval.also && emailedLinks(runtime, releaseId, scenario.approval.also).approve;
        if (second) await decideThroughPage(second, 'approve');
      }
    }
    if (scenario.rollback?.when === 'warm-bake') {
      // Until the release is at 100% and a minute into its warm bake.
      for (let i = 0; i < 240 && (await releaseOf())?.trafficPercent !== 100; i++) await runtime.wait(15);
      await runtime.wait(60);
    } else if (scenario.rollback?.when === 'after-promoted') {
      await runtime.settle();
      await runtime.drain();
      const rate = scenario.rollback.incidentErrorRate;
      if (rate !== undefined) {
        runtime.account.startErrors(scenario.tag ?? 'v2', rate);
        const firing = () =>
          runtime.account.cloudwatch
            .DescribeAlarms({ AlarmNames: t.alarms })
            .MetricAlarms?.some((a) => a.StateValue === 'ALARM') === true;
        if (!(await runtime.runUntil(firing, 900)))
          throw new Error(`${t.name}'s alarms did not fire within 15 minutes of the errors`);
      }
    }
    if (scenario.rollback) {
      commandAt = Date.now();
      rollbackId = runtime.startRollback({ target: t.name, reason: scenario.rollback.reason });
    }
    await runtime.settle();
    await runtime.drain();
    const release = await releaseOf();
    const summary = await summarize(runtime, name, t, release, pushedAt, performance.now() - wallStart);
    const lockHeldBy = (await runtime.store.getLock(t.name))?.owner ?? null;
    if (!rollbackId || commandAt === undefined) {
      inspect?.(runtime, { pushedAt, summary });
      return { ...summary, lockHeldBy, ...(approval ? { approval } : {}) };
    }
    const rollback = await runtime.release(rollbackId);
    const execution = runtime.executions().find((e) => e.name === rollbackId);
    const previous = release?.fromColour ?? 'blue';
    const back = runtime.account.elbv2.weightHistory.find(
      (h) =>
        h.at >= (commandAt as number) &&
        h.where === (t.traffic.listenerRuleArn ?? t.traffic.listenerArn) &&
        (h.weights[t.traffic.targetGroups[previous === 'blue' ? 'green' : 'blue']] ?? 0) === 0,
    );
    const result = {
      ...summary,
      // The scenario is about the rollback: its outcome, and time from the command to weights back.
      outcome: rollback?.outcome ?? execution?.status ?? 'NotStarted',
      releaseOutcome: summary.outcome,
      virtualSeconds: Math.round(((execution?.stopDate?.getTime() ?? Date.now()) - pushedAt) / 1000),
      timeToRollbackSeconds: back ? Math.round((back.at - commandAt) / 100) / 10 : null,
      notifications: runtime.account.sns.published.map((m) => m.subject ?? m.message),
      rollback: {
        rollbackId,
        outcome: rollback?.outcome ?? 'NotFinished',
        path: rollback?.rollbackPath ?? null,
        rollbackOf: rollback?.rollbackOf ?? null,
      },
      commandAtSeconds: (commandAt - pushedAt) / 1000,
      lockHeldBy,
    };
    inspect?.(runtime, { pushedAt, summary: result });
    return result;
  } finally {
    await runtime.dispose();
  }
};

/**
 * What a fault has left undone on `target`, empty once it is recovered: traffic split, the lock held
 * by an execution that has ended, a record of an ended execution still open (of `names`, default
 * every execution). Its reads take virtual time: await it inside `runtime.until` or `runUntil`.
 */
export const openWork = async (
  runtime: LocalRuntime,
  target: Target,
  names: string[] = runtime.executions().map((e) => e.name),
): Promise<string[]> => {
  const open: string[] = [];
  const running = (arn: string) =>
    runtime.executions().some((e) => e.executionArn === arn && e.status === 'RUNNING');
  const weights = liveWeights(runtime, target);
  if (weights.blue > 0 && weights.green > 0) open.push(`traffic split ${JSON.stringify(weights)}`);
  const lock = await runtime.store.getLock(target.name);
  if (lock && !running(lock.ownerExecutionArn)) {
    open.push(`lock held by ${lock.owner}, whose execution has ended`);
  }
  for (const name of names) {
    const record = await runtime.store.getRelease(name);
    if (record && !record.outcome && !running(record.executionArn)) {
      open.push(`${name} is still ${record.status}, but its execution has ended`);
    }
  }
  return open;
};
