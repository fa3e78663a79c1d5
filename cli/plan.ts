/**
 * `switchyard plan --target t --tag v2 [--strategy s] [--at time]`: what a release would do, in
 * order, without doing any of it. Only reads: ECR (the image), ELBv2 (the weights), ECS (the live
 * service), CloudWatch (the alarms), the lock and the target's history. It makes no write call and
 * pushes nothing, in AWS or locally.
 *
 * Each step's time comes from the target's history where there is one (the median of that phase
 * over its last Promoted releases), else from its configuration (grace, bakes), else from a stated
 * estimate; freeze windows are walked along that timeline. The checks say what would stop the
 * release if it started now: the image missing, traffic split, an alarm in ALARM, the lock held.
 */

import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { describeFiring, readAlarms } from '../functions/shared/alarms.ts';
import { checksAt, When } from '../functions/shared/analysis/config.ts';
import { SETTLE_SECONDS } from '../functions/shared/analysis/index.ts';
import { analysisDetails, checkText } from '../functions/shared/analysis/text.ts';
import type { Target } from '../functions/shared/config.ts';
import { describeService } from '../functions/shared/ecs.ts';
import { activeFreeze } from '../functions/shared/freeze.ts';
import {
  type Hook,
  type HookPoint,
  migrationCompatibility,
  migrationText,
  thresholdsText,
} from '../functions/shared/hooks.ts';
import { identityMap, resolveIdentity } from '../functions/shared/identity.ts';
import { promotionGate } from '../functions/shared/promotion.ts';
import type { ReleaseRecord } from '../functions/shared/store.ts';
import { planSteps, type StrategyConfig } from '../functions/shared/strategy.ts';
import { liveColour, readWeights } from '../functions/shared/traffic.ts';
import { Outcome, otherColour } from '../functions/shared/vocabulary.ts';
import type { Backend } from './backend.ts';
import { formatDuration, table } from './format.ts';
import { type CommandResult, type Output, UsageError } from './results.ts';

/** Seconds a step takes when neither history nor configuration says: stated as an estimate. */
const ESTIMATES = {
  // An ECS rolling deployment of new tasks to steady state: pull, start, pass the target group's
  // health checks (ELBv2 default: 5 checks 30 s apart) — a few minutes.
  deploy: 180,
  quick: 2,
  // A one-off Fargate task: provisioning and image pull (~30-60 s), then its own run time.
  hook: 90,
} as const;

type Source = 'history' | 'configuration' | 'estimate' | 'a person';

interface PlannedStep {
  step: string;
  what: string;
  seconds: number;
  source: Source;
  /** Virtual or wall time the step would start (ISO). */
  at: string;
}

interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Median seconds of each phase over the target's Promoted releases. */
const phaseMedians = (history: ReleaseRecord[]): Map<string, number> => {
  const byName = new Map<string, number[]>();
  for (const r of history.filter((h) => h.outcome === Outcome.Promoted && h.kind !== 'rollback')) {
    for (const p of r.phases) {
      const seconds = (Date.parse(p.endedAt) - Date.parse(p.startedAt)) / 1000;
      byName.set(p.name, [...(byName.get(p.name) ?? []), seconds]);
    }
    // Each hook by its name, from RunTask to its task's stop (start latency included).
    for (const h of r.hooks ?? []) {
      if (!h.startedAt || !h.stoppedAt) continue;
      const seconds = (Date.parse(h.stoppedAt) - Date.parse(h.startedAt)) / 1000;
      byName.set(`Hook ${h.name}`, [...(byName.get(`Hook ${h.name}`) ?? []), seconds]);
    }
  }
  return new Map([...byName].map(([name, values]) => [name, Math.round(median(values) ?? 0)]));
};

const quiet = async <T>(read: () => Promise<T>): Promise<T | Error> => {
  try {
    return await read();
  } catch (error) {
    return error as Error;
  }
};

export const planRelease = async (
  backend: Pick<Backend, 'kind' | 'clients' | 'store' | 'now' | 'targets'>,
  out: Output,
  options: { target: Target; tag: string; strategy: StrategyConfig; by: string; at?: Date },
): Promise<CommandResult> => {
  const t = options.target;
  if (!new RegExp(`^(?:${t.image.tagPattern})$`).test(options.tag)) {
    throw new UsageError(`tag "${options.tag}" does not match ${t.name}'s tagPattern ${t.image.tagPattern}`);
  }
  const start = options.at ?? backend.now();
  const checks: Check[] = [];

  // --- what is there now (reads only) -------------------------------------------------------
  const image = await quiet(() =>
    backend.clients.ecr.send(
      new DescribeImagesCommand({
        repositoryName: t.image.repository,
        imageIds: [{ imageTag: options.tag }],
      }),
    ),
  );
  const digest = image instanceof Error ? undefined : image.imageDetails?.[0]?.imageDigest;
  checks.push(
    digest
      ? { check: 'image', ok: true, detail: `${t.image.repository}:${options.tag} is in ECR (${digest})` }
      : backend.kind === 'local'
        ? {
            check: 'image',
            ok: true,
            detail: `${t.image.repository}:${options.tag} is not in the simulated ECR yet: release --local pushes it first`,
          }
        : {
            check: 'image',
            ok: false,
            detail: `${t.image.repository}:${options.tag} is not in ECR${image instanceof Error ? ` (${image.name})` : ''}: push it first`,
          },
  );
  const forward = await quiet(() => readWeights(backend.clients.elbv2, t.traffic));
  let live: 'blue' | 'green' = 'blue';
  if (forward instanceof Error) {
    checks.push({ check: 'traffic', ok: false, detail: `cannot read the weights: ${forward.message}` });
  } else {
    const { weights } = forward;
    const split = weights.blue > 0 && weights.green > 0;
    if (!split) live = liveColour(weights, t.name);
    checks.push({
      check: 'traffic',
      ok: !split,
      detail: split
        ? `traffic is split (blue ${weights.blue} / green ${weights.green}): a release starts only from one live colour; finish or roll back what moved it`
        : `all traffic on ${live}`,
    });
  }
  const idle = otherColour(live);
  const service = await quiet(() =>
    describeService(backend.clients.ecs, t.ecs.cluster, t.ecs.services[live]),
  );
  const tasks = service instanceof Error ? undefined : service.desiredCount;
  if (service instanceof Error) checks.push({ check: 'live service', ok: false, detail: service.message });
  if (t.alarms.length > 0) {
    const alarms = await quiet(() => readAlarms(backend.clients.cloudwatch, t.alarms));
    checks.push(
      alarms instanceof Error
        ? { check: 'alarms', ok: false, detail: `cannot read them: ${alarms.message}` }
        : alarms.firing.length > 0
          ? {
              check: 'alarms',
              ok: false,
              detail: `${describeFiring(alarms.firing)}: the health check would stop the release`,
            }
          : {
              check: 'alarms',
              ok: alarms.missing.length === 0,
              detail:
                alarms.missing.length > 0
                  ? `missing in CloudWatch: ${alarms.missing.join(', ')}`
                  : `none in ALARM (${t.alarms.join(', ')})`,
            },
    );
  }
  // A target promoted from another: would the gate take this digest now (promotion.ts)?
  if (t.promotesFrom) {
    const gate = digest
      ? await quiet(() =>
          promotionGate(t, digest, {
            targets: backend.targets,
            store: backend.store,
            now: () => backend.now(),
          }),
        )
      : undefined;
    checks.push(
      gate === undefined
        ? {
            check: 'promotion gate',
            ok: false,
            detail: `the image is not in ECR yet, so nothing shows it was promoted in ${t.promotesFrom.target}`,
          }
        : gate instanceof Error
          ? {
              check: 'promotion gate',
              ok: false,
              detail: `cannot read ${t.promotesFrom.target}'s releases: ${gate.message}`,
            }
          : gate.open
            ? {
                check: 'promotion gate',
                ok: true,
                detail: `${gate.evidence.releaseId} ended Promoted in ${gate.evidence.from} and soaked ${gate.evidence.soak?.minutes ?? '?'} min: ${gate.evidence.soak?.detail ?? ''}`,
              }
            : { check: 'promotion gate', ok: false, detail: gate.reason },
    );
  }
  const lock = await backend.store.getLock(t.name);
  checks.push(
    lock
      ? {
          check: 'lock',
          ok: false,
          detail: `held by ${lock.owner} since ${lock.acquiredAt}: the release would wait behind it (or be superseded)`,
        }
      : { check: 'lock', ok: true, detail: 'free' },
  );

  // --- the steps, timed -----------------------------------------------------------------------
  const history = await backend.store.releasesForTarget(t.name, 10);
  const medians = phaseMedians(history);
  const timed = (names: string[], configured: number | undefined, fallback: number): [number, Source] => {
    const known = names.map((n) => medians.get(n)).filter((v): v is number => v !== undefined);
    if (known.length > 0) return [Math.max(...known), 'history'];
    return configured !== undefined ? [configured, 'configuration'] : [fallback, 'estimate'];
  };
  const steps: Omit<PlannedStep, 'at'>[] = [];
  const add = (step: string, what: string, [seconds, source]: [number, Source]) =>
    steps.push({ step, what, seconds, source });
  add(
    'AcquireLock, Validate',
    `take ${t.name}'s lock and its turns (when many releases start at once, they are validated two a second and register one a second: ECS and ELBv2's budget for the account); check the image, the task definition and the traffic`,
    timed(['AcquireLock', 'Validate'], undefined, ESTIMATES.quick),
  );
  const hookStep = (h: Hook, point: HookPoint) =>
    add(
      `${point[0]?.toUpperCase()}${point.slice(1)}Hooks`,
      `hook ${h.name}: ${h.task ? `run \`${h.task.command.join(' ')}\` as a one-off task of ${h.task.taskDefinition ?? `the new revision${point === 'preDeploy' ? ' (registered, not yet deployed)' : ''}`} in ${t.ecs.cluster}` : `invoke Lambda function ${h.lambda?.functionName}`} (up to ${h.timeoutSeconds / 60} min)${
        h.migration
          ? h.migration.compatibility === 'breaking'
            ? '; BREAKING migration: once it ran, no automatic rollback (restore the snapshot first)'
            : '; expand migration: a rollback needs no restore'
          : ''
      }${h.thresholds ? `; load test judged: ${thresholdsText(h.thresholds)}` : ''}; a failure ${point === 'postTraffic' ? 'rolls back' : point === 'preDeploy' ? 'aborts with nothing deployed' : 'aborts before any traffic moves'}`,
      timed([`Hook ${h.name}`], undefined, ESTIMATES.hook),
    );
  const n = tasks ?? '?';
  const snapshot = t.database
    ? `a manual snapshot of ${t.database.kind} ${t.database.identifier} (kept; Switchyard keeps its last ${t.database.keepSnapshots})`
    : undefined;
  // preDeploy hooks run the new revision before it is deployed, after the snapshot.
  const preDeploy = t.hooks.preDeploy.length > 0;
  if (preDeploy) {
    add(
      snapshot ? 'RegisterRevision ∥ BackupDatabase' : 'RegisterRevision',
      `register ${options.tag} as a new revision for the preDeploy hooks${snapshot ? `; meanwhile ${snapshot}, available before any hook runs` : ''}`,
      timed(
        snapshot ? ['RegisterRevision', 'WaitForSnapshot'] : ['RegisterRevision'],
        undefined,
        ESTIMATES.quick,
      ),
    );
    for (const h of t.hooks.preDeploy) hookStep(h, 'preDeploy');
  }
  // The deploy and the snapshot run side by side: the step lasts as long as the longer one.
  const backupBeside = snapshot && !preDeploy;
  add(
    backupBeside ? 'DeployInactiveColour ∥ BackupDatabase' : 'DeployInactiveColour',
    `deploy ${options.tag}${preDeploy ? "'s registered revision" : ''} to ${idle} (${t.ecs.services[idle]}): ${n} new task${n === 1 ? '' : 's'}, as many as ${live} runs${
      backupBeside ? `; meanwhile ${snapshot}` : ''
    }`,
    timed(
      backupBeside ? ['WaitForServiceStable', 'WaitForSnapshot'] : ['WaitForServiceStable'],
      undefined,
      ESTIMATES.deploy,
    ),
  );
  // The group's members deploy beside the primary (each at its live colour's size, a singleton at 0).
  for (const m of t.group)
    add(
      'DeployGroup',
      `${m.name} (${m.role}${m.switch ? `, ${m.switch}` : ''}): deploy ${m.repository ? `${m.repository}:${options.tag}` : options.tag} to its idle colour${m.role === 'singleton' ? ' at 0 tasks (it starts at the cut-over, after its old colour has stopped)' : m.role === 'web' ? ', its own rule moving with the primary' : ', running beside the old colour'}`,
      [0, 'configuration'],
    );
  if (t.health.graceSeconds > 0)
    add('HealthGrace', `wait ${t.health.graceSeconds} s before judging health`, [
      t.health.graceSeconds,
      'configuration',
    ]);
  add(
    'CheckHealth',
    t.traffic.testListenerArn
      ? `${idle}'s targets healthy, and probes through the test listener: p95 ≤ ${t.health.thresholds.p95Ms} ms, errors ≤ ${(t.health.thresholds.errorRate * 100).toFixed(1)}%`
      : `${idle}'s targets healthy (no test listener: no probes judge latency or errors before traffic moves)`,
    timed(['CheckHealth'], undefined, ESTIMATES.quick),
  );
  let approval: Record<string, unknown> | null = null;
  if (t.approval?.required) {
    const identities = identityMap(t.approval.approvers);
    const requester = resolveIdentity(identities, options.by);
    const approvers = t.approval.approvers.map((a) => resolveIdentity(identities, a.id));
    const asked = approvers.filter((a) => a !== requester);
    approval = {
      approvers,
      asked,
      twoPerson: t.approval.twoPerson,
      timeoutMinutes: t.approval.timeoutMinutes,
      channels: t.approval.channels,
    };
    add(
      'WaitForApproval',
      `ask ${asked.join(', ')} (${t.approval.channels.join(', ')}; not ${requester}, who asks)${t.approval.twoPerson ? '; two must approve' : ''}; Aborted after ${t.approval.timeoutMinutes} min without a decision`,
      [0, 'a person'],
    );
  }
  for (const h of t.hooks.preTraffic) hookStep(h, 'preTraffic');
  const testChecks = checksAt(t.analysis, When.TestTraffic);
  if (testChecks.length)
    add(
      'SettleTestTraffic, AnalyseTestTraffic',
      `wait ${SETTLE_SECONDS / 60} min for CloudWatch's last minutes, then judge ${idle}'s test-listener traffic${t.hooks.preTraffic.length ? ' (the hooks above included)' : ' (no preTraffic hook sends load: only the health probes and test traffic you send yourself count)'}: ${testChecks.map(checkText).join('; ')}; a failure aborts before any traffic moves`,
      [SETTLE_SECONDS, 'configuration'],
    );
  const bakeChecks = checksAt(t.analysis, When.Bakes);
  const judged = bakeChecks.length
    ? `; analysis ${bakeChecks.map((c) => c.name).join(', ')} each minute and at its end`
    : '';
  const postTraffic = t.hooks.postTraffic;
  const webMembers = t.group.filter((m) => m.role === 'web').map((m) => m.name);
  const cutovers = t.group.filter((m) => m.role === 'singleton' || m.switch === 'cutover');
  for (const [i, s] of planSteps(options.strategy, t.bakeMinutes).entries()) {
    add(
      'ShiftTraffic',
      `move ${s.percent}% of traffic to ${idle}${webMembers.length ? ` (and ${webMembers.join(', ')} in lockstep)` : ''}, verified by reading the weights back`,
      timed(['ShiftTraffic'], undefined, ESTIMATES.quick),
    );
    if (s.percent === 100)
      for (const m of cutovers)
        add(
          'CutOverGroup',
          m.role === 'singleton'
            ? `${m.name} (singleton): old colour to 0, wait until every task STOPPED, then start the new one (never two at once)`
            : `${m.name} (worker, cutover): old colour to 0`,
          // A singleton: its old tasks' stop (up to the 30 s stop timeout) and the new ones' start.
          m.role === 'singleton' ? [75, 'estimate'] : [0, 'configuration'],
        );
    if (s.bakeSeconds > 0) {
      add(
        'Bake',
        s.percent === 100
          ? `watch ${t.alarms.length ? t.alarms.join(', ') : 'no alarms (none configured)'} for ${s.bakeSeconds / 60} min with ${live} kept warm (a rollback is one weight change)${judged}`
          : `watch ${t.alarms.length ? t.alarms.join(', ') : 'no alarms (none configured)'} for ${s.bakeSeconds / 60} min at ${s.percent}% (step ${i + 1})${judged}`,
        [s.bakeSeconds, 'configuration'],
      );
    }
  }
  for (const h of postTraffic) hookStep(h, 'postTraffic');
  add(
    'ScaleDownOldColour',
    `scale ${live} to 0${t.group.length ? ` (and each member's old colour)` : ''}; ${t.database ? `prune Switchyard's snapshots beyond ${t.database.keepSnapshots}; ` : ''}record the outcome, free the lock, notify`,
    timed(['ScaleDownOldColour', 'RecordOutcome', 'Notify'], undefined, ESTIMATES.quick),
  );

  // Walk the timeline; a traffic step inside a freeze window waits for its end.
  const freezes: { window: string; at: string; until: string }[] = [];
  let clock = start.getTime();
  const planned: PlannedStep[] = [];
  for (const s of steps) {
    if (s.step === 'ShiftTraffic') {
      const freeze = activeFreeze(t.freezeWindows, new Date(clock));
      if (freeze) {
        freezes.push({
          window: freeze.window.name,
          at: new Date(clock).toISOString(),
          until: freeze.endsAt.toISOString(),
        });
        clock = freeze.endsAt.getTime();
      }
    }
    planned.push({ ...s, at: new Date(clock).toISOString() });
    clock += s.seconds * 1000;
  }
  const etaSeconds = Math.round((clock - start.getTime()) / 1000);
  const wouldStart = checks.every((c) => c.ok);

  out.line(
    `Plan: release ${t.image.repository}:${options.tag}${digest ? ` (${digest.slice(0, 19)})` : ''} to ${t.name} (${t.environment}), ${options.strategy.type}; nothing is changed by this command`,
  );
  out.line(
    `About ${formatDuration(etaSeconds)}${approval ? ' plus the wait for a decision' : ''}, from ${start.toISOString()}; step times from ${medians.size > 0 ? "this target's history (median of its last Promoted releases)" : 'its configuration and estimates (no history yet)'}`,
  );
  for (const line of table(
    ['at', 'step', 'takes', 'what'],
    planned.map((p) => [
      `+${formatDuration(Math.round((Date.parse(p.at) - start.getTime()) / 1000))}`,
      p.step,
      p.source === 'a person'
        ? 'a person'
        : `${formatDuration(p.seconds)}${p.source === 'estimate' ? ' (est.)' : ''}`,
      p.what,
    ]),
  ))
    out.line(`  ${line}`);
  const migration = migrationText(t.hooks);
  if (migration) out.line(migration);
  const analysis = analysisDetails(t);
  if (Object.keys(analysis).length === 0)
    out.line('Analysis: none configured (real traffic is judged by alarms and target health only)');
  for (const [k, v] of Object.entries(analysis)) out.line(`${k}: ${v}`);
  for (const f of freezes)
    out.line(`Freeze: traffic would not move inside "${f.window}" (from ${f.at} until ${f.until})`);
  out.line('Checks now:');
  for (const c of checks) out.line(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.check}: ${c.detail}`);
  out.line(
    wouldStart
      ? 'It would start now.'
      : `It would not go through now: ${checks.filter((c) => !c.ok).length} check(s) fail.`,
  );

  return {
    exitCode: wouldStart ? 0 : 1,
    json: {
      target: t.name,
      environment: t.environment,
      image: { repository: t.image.repository, tag: options.tag, digest: digest ?? null },
      strategy: options.strategy,
      from: live,
      to: idle,
      extraTasks: tasks ?? null,
      snapshot: t.database ? { kind: t.database.kind, identifier: t.database.identifier } : null,
      approval,
      hooks: {
        preDeploy: t.hooks.preDeploy,
        preTraffic: t.hooks.preTraffic,
        postTraffic: t.hooks.postTraffic,
      },
      group: t.group.map((m) => ({ name: m.name, role: m.role, switch: m.switch ?? null })),
      migration: migrationCompatibility(t.hooks),
      analysis: t.analysis
        ? {
            beforeTraffic: analysis['Analysis before traffic'],
            testTraffic: testChecks.map(checkText),
            bakes: bakeChecks.map(checkText),
          }
        : null,
      steps: planned,
      freezes,
      etaSeconds,
      etaSource: medians.size > 0 ? 'history' : 'configuration',
      checks,
      wouldStart,
    },
  };
};
