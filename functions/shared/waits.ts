/**
 * Event-driven waits. A waiting step registers *what* it waits for with its task token; an
 * EventBridge event (a hint) or the reconciler re-checks the condition against AWS and only then
 * resumes the execution. The PENDING → RESUMED conditional write makes resuming exactly-once.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand, DescribeTasksCommand } from '@aws-sdk/client-ecs';
import {
  type Action,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { describeFiring, readAlarms } from './alarms.ts';
import { checksAt, When } from './analysis/config.ts';
import { analyse, describeFailures } from './analysis/index.ts';
import type { TargetsFile } from './config.ts';
import { mayNotShowYet, serviceTasks, stabilityOn } from './ecs.ts';
import { classifyError, isRetryable } from './errors.ts';
import { logger } from './logger.ts';
import {
  describeMemberFailures,
  failedMemberTask,
  failedMemberTasks,
  type MemberService,
} from './member-health.ts';
import type { Store, WaitRecord } from './store.ts';
import { sendFailure, sendSuccess } from './task-tokens.ts';
import { allTo, setWeights, type TrafficConfig } from './traffic.ts';
import { type Colour, otherColour, WaitKind, watchesTraffic } from './vocabulary.ts';

export type WaitCheck =
  | { state: 'done'; output: Record<string, unknown> }
  | {
      state: 'failed';
      error:
        | 'DeploymentFailed'
        | 'SnapshotFailed'
        | 'AlarmTriggered'
        | 'AnalysisFailed'
        | 'RollbackRequested'
        | 'HookFailed';
      cause: string;
    }
  | { state: 'pending'; detail: string };

export const serviceResourceKey = (cluster: string, service: string) => `ecs-service#${cluster}/${service}`;
export const snapshotResourceKey = (snapshotId: string) => `rds-snapshot#${snapshotId.toLowerCase()}`;
/** A target's bakes; an alarm event finds them through the targets that watch the alarm. */
export const bakeResourceKey = (target: string) => `bake#${target}`;
/** A target's hook tasks; a task's event finds them through its group (`switchyard:<target>`). */
export const hookResourceKey = (target: string) => `hook#${target}`;
/** A service being drained (a singleton's colour scaled to 0); its tasks' events name it by group. */
export const drainResourceKey = (cluster: string, service: string) => `ecs-drain#${cluster}/${service}`;

/** Phase names recorded in the release's audit trail when a wait ends. */
export const waitPhase: Record<WaitKind, string> = {
  [WaitKind.ServiceStable]: 'WaitForServiceStable',
  [WaitKind.SnapshotAvailable]: 'WaitForSnapshot',
  [WaitKind.Bake]: 'Bake',
  [WaitKind.Freeze]: 'FrozenWatch',
  [WaitKind.HookTask]: 'WaitForHook',
  [WaitKind.ServiceDrained]: 'WaitForServiceDrained',
};

export interface WaitAws {
  ecs: Pick<ECSClient, 'send'>;
  rds: Pick<RDSClient, 'send'>;
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
  cloudwatch: Pick<CloudWatchClient, 'send'>;
  now: () => Date;
  /** The targets' config: a bake's analysis reads its checks there. */
  targets?: TargetsFile;
}

export interface CheckOptions {
  /**
   * Also read the new colour's target health for bakes (default). An alarm event re-checks only
   * alarms, keeping the path from alarm to rollback to one Describe call.
   */
  targetHealth?: boolean;
  /**
   * Best effort (the reconciler): a batch whose Describe call fails transiently (throttled, 5xx)
   * is reported here and left unchecked until the next round, instead of failing every other batch.
   */
  onTransientError?: (what: string, error: unknown) => void;
  /**
   * Run the bakes' analysis (the reconciler's ticks only: one GetMetricData per bake per minute,
   * the metrics' own resolution; an event says nothing new about them).
   */
  analysis?: boolean;
  /**
   * The event is one service task's stop (a group member's task, maybe failing): a bake that can
   * judge it by that task alone (it knows when its release began deploying: `deployedAfter`)
   * re-reads only that task. Its
   * alarms, targets and other members are left to their own events and the reconciler's ticks.
   */
  stoppedTask?: { cluster: string; taskArn: string };
}

/** Runs one batch; with `onTransientError`, a transient failure skips the batch instead of throwing. */
const batch = async (options: CheckOptions, what: string, check: () => Promise<void>) => {
  if (!options.onTransientError) return check();
  try {
    await check();
  } catch (error) {
    if (!isRetryable(classifyError(error))) throw error;
    options.onTransientError(what, error);
  }
};

const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

const snapshotFailed = new Set([
  'failed',
  'deleted',
  'deleting',
  'incompatible-restore',
  'incompatible-parameters',
]);

/**
 * Checks many waits with as few Describe calls as AWS allows: services 10 per DescribeServices per
 * cluster, snapshots by identifier filter. Returns one check per wait id.
 */
export const checkWaits = async (
  waits: WaitRecord[],
  aws: WaitAws,
  options: CheckOptions = {},
): Promise<Map<string, WaitCheck>> => {
  const checks = new Map<string, WaitCheck>();
  await batch(options, 'bakes', () =>
    checkBakes(
      waits.filter((w) => watchesTraffic(w.kind)),
      aws,
      options,
      checks,
    ),
  );

  await checkHooks(
    waits.filter((w) => w.kind === WaitKind.HookTask),
    aws,
    options,
    checks,
  );

  for (const wait of waits.filter((w) => w.kind === WaitKind.ServiceDrained)) {
    await batch(options, `drain of ${wait.condition.service}`, async () => {
      checks.set(wait.waitId, await checkDrained(wait, aws));
    });
  }

  const services = waits.filter((w) => w.kind === WaitKind.ServiceStable);
  const byCluster = Map.groupBy(services, (w) => w.condition.cluster as string);
  for (const [cluster, group] of byCluster) {
    const names = [...new Set(group.map((w) => w.condition.service as string))];
    for (const some of chunk(names, 10)) {
      await batch(options, `services ${some.join(', ')}`, async () => {
        const out = await aws.ecs.send(new DescribeServicesCommand({ cluster, services: some }));
        for (const wait of group.filter((w) => some.includes(w.condition.service as string))) {
          const service = out.services?.find((s) => s.serviceName === wait.condition.service);
          if (!service) {
            checks.set(wait.waitId, {
              state: 'failed',
              error: 'DeploymentFailed',
              cause: `service ${wait.condition.service} is missing`,
            });
            continue;
          }
          const stability = stabilityOn(
            service,
            {
              taskDefinitionArn: wait.condition.taskDefinitionArn as string,
              desiredCount: wait.condition.desiredCount as number | undefined,
              deploymentId: wait.condition.deploymentId as string | undefined,
            },
            { at: Date.parse(wait.createdAt), now: aws.now().getTime() },
          );
          // The grace counts from when the rollout completed (the PRIMARY deployment's last
          // update), not from when this check noticed: a late event or a reconciler tick does not
          // make the new colour wait longer before it is judged. A deployment last updated before
          // the wait began is not this rollout (scaling a service up starts none): then from now.
          const updatedAt = service.deployments?.find((d) => d.status === 'PRIMARY')?.updatedAt?.getTime();
          const stableAt =
            updatedAt !== undefined && updatedAt >= Date.parse(wait.createdAt)
              ? updatedAt
              : aws.now().getTime();
          const graceMs = ((wait.condition.graceSeconds as number | undefined) ?? 0) * 1000;
          checks.set(
            wait.waitId,
            stability.state === 'stable'
              ? {
                  state: 'done',
                  output: {
                    service: service.serviceName,
                    taskDefinitionArn: wait.condition.taskDefinitionArn,
                    stableAt: new Date(stableAt).toISOString(),
                    healthCheckAt: new Date(stableAt + graceMs).toISOString(),
                  },
                }
              : stability.state === 'failed'
                ? { state: 'failed', error: 'DeploymentFailed', cause: stability.detail }
                : { state: 'pending', detail: stability.detail },
          );
        }
      });
    }
  }

  const snapshots = waits.filter((w) => w.kind === WaitKind.SnapshotAvailable);
  for (const kind of ['instance', 'cluster'] as const) {
    const group = snapshots.filter((w) => w.condition.databaseKind === kind);
    for (const some of chunk(group, 20)) {
      await batch(options, `${kind} snapshots`, async () => {
        const ids = some.map((w) => w.condition.snapshotId as string);
        const statuses = new Map<string, string | undefined>();
        if (kind === 'instance') {
          const out = await aws.rds.send(
            new DescribeDBSnapshotsCommand({ Filters: [{ Name: 'db-snapshot-id', Values: ids }] }),
          );
          for (const s of out.DBSnapshots ?? []) statuses.set(s.DBSnapshotIdentifier ?? '', s.Status);
        } else {
          const out = await aws.rds.send(
            new DescribeDBClusterSnapshotsCommand({
              Filters: [{ Name: 'db-cluster-snapshot-id', Values: ids }],
            }),
          );
          for (const s of out.DBClusterSnapshots ?? [])
            statuses.set(s.DBClusterSnapshotIdentifier ?? '', s.Status);
        }
        for (const wait of some) {
          const id = wait.condition.snapshotId as string;
          const status = statuses.get(id);
          // Not listed a moment after CreateDBSnapshot may be a read that does not show it yet.
          const notListedYet =
            status === undefined && mayNotShowYet(Date.parse(wait.createdAt), aws.now().getTime());
          checks.set(
            wait.waitId,
            status === 'available'
              ? { state: 'done', output: { snapshotId: id, status } }
              : notListedYet
                ? { state: 'pending', detail: `snapshot ${id} is not listed yet` }
                : status === undefined || snapshotFailed.has(status)
                  ? {
                      state: 'failed',
                      error: 'SnapshotFailed',
                      cause: `snapshot ${id} is ${status ?? 'missing'}`,
                    }
                  : { state: 'pending', detail: `snapshot ${id} is ${status}` },
          );
        }
      });
    }
  }
  return checks;
};

/**
 * A drained service: no task it should run (ListTasks desiredStatus RUNNING is empty), and every
 * task it is stopping has STOPPED (ListTasks desiredStatus STOPPED, then DescribeTasks: a task
 * that was told to stop is listed as STOPPED while its container may still be exiting). Each list
 * is one page: a singleton runs a handful of tasks, never 100.
 */
const checkDrained = (wait: WaitRecord, aws: WaitAws): Promise<WaitCheck> => {
  const { cluster, service, stoppingOnly } = wait.condition as {
    cluster: string;
    service: string;
    stoppingOnly?: boolean;
  };
  return drainedCheck(aws, cluster, service, stoppingOnly);
};

/** Whether every task of `service` has STOPPED (see checkDrained); the recovery asks it too. */
export const drainedCheck = async (
  aws: Pick<WaitAws, 'ecs' | 'now'>,
  cluster: string,
  service: string,
  /** Only that no task it is stopping is still exiting (its running tasks may stay). */
  stoppingOnly = false,
): Promise<WaitCheck> => {
  // Every page of each (found by review: ECS lists in no promised order, so a task still stopping
  // may be on a later page of a crash loop's hour of stopped tasks).
  const [running, arns] = await Promise.all([
    serviceTasks(aws.ecs, cluster, service, 'RUNNING'),
    serviceTasks(aws.ecs, cluster, service, 'STOPPED'),
  ]);
  if (!stoppingOnly && running.length > 0)
    return { state: 'pending', detail: `${service} still runs ${running.length} task(s)` };
  if (arns.length === 0) return { state: 'done', output: { service, drainedAt: aws.now().toISOString() } };
  const described = [];
  for (let i = 0; i < arns.length; i += 100) {
    const out = await aws.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
    described.push(...(out.tasks ?? []));
  }
  const alive = described.filter((t) => t.lastStatus !== 'STOPPED');
  return alive.length > 0
    ? {
        state: 'pending',
        detail: `${service}: ${alive.length} task(s) still ${alive[0]?.lastStatus} (stopping)`,
      }
    : { state: 'done', output: { service, drainedAt: aws.now().toISOString() } };
};

/** How long a task RunTask started may be unknown to DescribeTasks before it counts as gone. */
const TASK_VISIBILITY_GRACE_MS = 5 * 60_000;

/**
 * Hook tasks: DescribeTasks, 100 tasks per call per cluster (its limit); one DescribeAlarms for the
 * postTraffic hooks, which run with traffic on the new colour. A stopped task is done, whatever its
 * exit code: RecordHook judges it (exit code, figures) and records it.
 */
const checkHooks = async (
  hooks: WaitRecord[],
  aws: WaitAws,
  options: CheckOptions,
  checks: Map<string, WaitCheck>,
) => {
  if (hooks.length === 0) return;
  const watched = hooks.flatMap((w) => (w.condition.alarms as string[] | undefined) ?? []);
  let firing: Awaited<ReturnType<typeof readAlarms>>['firing'] = [];
  // The alarms beside the tasks, not before them (0.03-0.07 s on the way from a postTraffic hook's
  // stop to the release's end); a task is judged once both are read. A batch that reports its
  // transient error (the reconciler) leaves `firing` empty and settles: the tasks are still judged.
  const alarmsRead =
    watched.length > 0
      ? batch(options, 'hook alarms', async () => {
          firing = (await readAlarms(aws.cloudwatch, watched)).firing;
        })
      : Promise.resolve();
  const byCluster = Map.groupBy(hooks, (w) => w.condition.cluster as string);
  const tasksRead = async () => {
    for (const [cluster, group] of byCluster) {
      for (const some of chunk(group, 100)) {
        await batch(options, `hook tasks in ${cluster}`, async () => {
          const out = await aws.ecs.send(
            new DescribeTasksCommand({ cluster, tasks: some.map((w) => w.condition.taskArn as string) }),
          );
          await alarmsRead;
          for (const wait of some) {
            const { taskArn, hook, container } = wait.condition as {
              taskArn: string;
              hook: string;
              container: string;
            };
            const task = out.tasks?.find((t) => t.taskArn === taskArn);
            const mine = firing.filter((a) => ((wait.condition.alarms as string[]) ?? []).includes(a.name));
            // ECS is eventually consistent: a task RunTask just started may not be described yet
            // (RunTask API reference). Only a task still unknown minutes later is gone.
            if (!task && aws.now().getTime() - Date.parse(wait.createdAt) < TASK_VISIBILITY_GRACE_MS) {
              checks.set(wait.waitId, {
                state: 'pending',
                detail: `hook ${hook}: task ${taskArn} not described yet`,
              });
            } else if (!task) {
              checks.set(wait.waitId, {
                state: 'failed',
                error: 'HookFailed',
                cause: `hook ${hook}: task ${taskArn} is unknown to ECS (DescribeTasks: ${out.failures?.find((f) => f.arn === taskArn)?.reason ?? 'MISSING'})`,
              });
            } else if (task.lastStatus === 'STOPPED') {
              const c = task.containers?.find((x) => x.name === container) ?? task.containers?.[0];
              checks.set(wait.waitId, {
                state: 'done',
                output: {
                  taskArn,
                  exitCode: c?.exitCode ?? null,
                  containerReason: c?.reason ?? null,
                  stopCode: task.stopCode ?? null,
                  stoppedReason: task.stoppedReason ?? null,
                  startedAt: task.startedAt?.toISOString() ?? null,
                  stoppedAt: task.stoppedAt?.toISOString() ?? aws.now().toISOString(),
                },
              });
            } else if (mine.length > 0) {
              checks.set(wait.waitId, {
                state: 'failed',
                error: 'AlarmTriggered',
                cause: `during hook ${hook} at 100%: ${describeFiring(mine)}`,
              });
            } else {
              checks.set(wait.waitId, { state: 'pending', detail: `hook ${hook}: task ${task.lastStatus}` });
            }
          }
        });
      }
    }
  };
  await Promise.all([alarmsRead, tasksRead()]);
};

/**
 * Bakes: one DescribeAlarms for every alarm of every bake, then (unless told not to) the target
 * health of the new colour of each bake that no alarm has decided already. A bake whose time is up and that saw nothing is done: its Task
 * has normally moved on by its own timeout already, and this only closes the record.
 */
/** The previous step's bake window, the old colour's baseline at 100% (register-wait copies it). */
const baselineOf = (wait: WaitRecord) => {
  const w = wait.condition.baselineWindow as { start: string; end: string } | undefined;
  return w ? { start: new Date(w.start), end: new Date(w.end) } : undefined;
};

/** A bake, told of one member task's stop: failed if it is its new colour's and stopped on its own. */
const checkStoppedMemberTask = async (
  wait: WaitRecord,
  stopped: { cluster: string; taskArn: string },
  aws: WaitAws,
): Promise<WaitCheck> => {
  const { percent, colour, endsAt } = wait.condition as { percent: number; colour: string; endsAt: string };
  if (aws.now().getTime() >= Date.parse(endsAt)) {
    return { state: 'done', output: { percent, bakedUntil: endsAt } };
  }
  const services = (wait.condition.memberServices as MemberService[] | undefined) ?? [];
  const since = Date.parse(wait.condition.deployedAfter as string);
  const failures = services.length ? await failedMemberTask(aws.ecs, services, stopped, since) : new Map();
  return failures.size > 0
    ? {
        state: 'failed',
        error: 'AlarmTriggered',
        cause: `at ${percent}% on ${colour}: ${describeMemberFailures(failures)}`,
      }
    : { state: 'pending', detail: `baking at ${percent}% until ${endsAt}` };
};

const checkBakes = async (
  watches: WaitRecord[],
  aws: WaitAws,
  options: CheckOptions,
  checks: Map<string, WaitCheck>,
) => {
  const { stoppedTask } = options;
  const byTask = stoppedTask ? watches.filter((w) => w.condition.deployedAfter !== undefined) : [];
  for (const wait of byTask) {
    checks.set(
      wait.waitId,
      await checkStoppedMemberTask(wait, stoppedTask as NonNullable<typeof stoppedTask>, aws),
    );
  }
  const bakes = watches.filter((w) => !byTask.includes(w));
  if (bakes.length === 0) return;
  const { firing } = await readAlarms(
    aws.cloudwatch,
    bakes.flatMap((w) => w.condition.alarms as string[]),
  );
  const unhealthy = new Map<string, string[]>();
  const now = aws.now().getTime();
  // Target health decides only bakes that are still running and whose alarms are quiet.
  const undecided = bakes.filter(
    (w) =>
      now < Date.parse(w.condition.endsAt as string) &&
      !firing.some((a) => (w.condition.alarms as string[]).includes(a.name)),
  );
  const groupsOf = (w: WaitRecord) => [
    w.condition.targetGroupArn as string,
    ...((w.condition.memberTargetGroupArns as string[] | undefined) ?? []),
  ];
  if (options.targetHealth !== false) {
    for (const arn of new Set(undecided.flatMap(groupsOf))) {
      const out = await aws.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
      unhealthy.set(
        arn,
        (out.TargetHealthDescriptions ?? [])
          .filter((t) => t.TargetHealth?.State === 'unhealthy')
          .map((t) => `${t.Target?.Id} (${t.TargetHealth?.Reason ?? 'no reason'})`),
      );
    }
  }
  // A group's members: their new colours' tasks that stopped on their own (member-health.ts).
  const memberFailures = new Map<string, string>();
  if (options.targetHealth !== false) {
    for (const wait of undecided) {
      const services = (wait.condition.memberServices as MemberService[] | undefined) ?? [];
      if (services.length === 0) continue;
      const failures = await failedMemberTasks(aws.ecs, services);
      if (failures.size > 0) memberFailures.set(wait.waitId, describeMemberFailures(failures));
    }
  }
  // Real traffic, judged: a check that fails rolls back like an alarm (analysis/). Over the bake so
  // far, and over its latest minutes (a regression that starts late would hide in the whole
  // bake's median). A failed read leaves this bake's analysis to the next tick; the alarms and
  // target health above still decide.
  const analysisFailures = new Map<string, string>();
  if (options.analysis && aws.targets) {
    for (const wait of undecided.filter((w) => w.condition.analysis)) {
      const { target: name } = wait.condition.analysis as { target: string };
      const target = aws.targets.targets.find((t) => t.name === name);
      if (!target?.analysis) continue;
      const colour = wait.condition.colour as Colour;
      const start = new Date(wait.condition.startedAt as string);
      const end = aws.now();
      const recent = new Date(
        end.getTime() -
          (Math.max(...checksAt(target.analysis, When.Bakes).map((c) => c.minSamples)) + 2) *
            target.analysis.periodSeconds *
            1000,
      );
      try {
        const judge = (from: Date) =>
          analyse(
            target,
            aws.cloudwatch,
            { canary: colour, baseline: otherColour(colour) },
            { start: from, end },
            {
              oldServes: (wait.condition.percent as number) < 100,
              baselineWindow: baselineOf(wait),
              when: When.Bakes,
            },
          );
        let results = await judge(start);
        if (!results.some((r) => r.verdict === 'fail') && recent > start) results = await judge(recent);
        if (results.some((r) => r.verdict === 'fail'))
          analysisFailures.set(wait.waitId, describeFailures(results));
      } catch (error) {
        logger.warn('bake analysis skipped this tick', {
          waitId: wait.waitId,
          error: (error as Error).message,
        });
      }
    }
  }
  for (const wait of bakes) {
    const { alarms, colour, targetGroupArn, percent, endsAt } = wait.condition as {
      alarms: string[];
      colour: string;
      targetGroupArn: string;
      percent: number;
      endsAt: string;
    };
    const mine = firing.filter((a) => alarms.includes(a.name));
    const sick = [targetGroupArn, ...groupsOf(wait).slice(1)].flatMap((arn) => unhealthy.get(arn) ?? []);
    if (now >= Date.parse(endsAt)) {
      // Over: the Task moved on by its timeout. What fires now is the next step's to see.
      checks.set(wait.waitId, { state: 'done', output: { percent, bakedUntil: endsAt } });
    } else if (mine.length > 0) {
      checks.set(wait.waitId, {
        state: 'failed',
        error: 'AlarmTriggered',
        cause: `at ${percent}% on ${colour}: ${describeFiring(mine)}`,
      });
    } else if (analysisFailures.has(wait.waitId)) {
      checks.set(wait.waitId, {
        state: 'failed',
        error: 'AnalysisFailed',
        cause: `at ${percent}% on ${colour}: ${analysisFailures.get(wait.waitId)}`,
      });
    } else if (memberFailures.has(wait.waitId)) {
      checks.set(wait.waitId, {
        state: 'failed',
        error: 'AlarmTriggered',
        cause: `at ${percent}% on ${colour}: ${memberFailures.get(wait.waitId)}`,
      });
    } else if (sick.length > 0) {
      checks.set(wait.waitId, {
        state: 'failed',
        error: 'AlarmTriggered',
        cause: `at ${percent}% on ${colour}: ${sick.length} unhealthy target(s) in the new colour's target group${groupsOf(wait).length > 1 ? 's' : ''}: ${sick.slice(0, 5).join(', ')}`,
      });
    } else {
      checks.set(wait.waitId, { state: 'pending', detail: `baking at ${percent}% until ${endsAt}` });
    }
  }
};

export interface ResumeDeps {
  store: Store;
  sfn: Pick<SFNClient, 'send'>;
  /** A failed bake puts traffic back itself (see `restoreTraffic`). */
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
  now: () => Date;
}

/** A failed bake puts traffic back itself only while at least this long is left of it. */
const FAST_ROLLBACK_MARGIN_MS = 2000;

/** What a bake keeps so that its failure can put all traffic back without reading the rule first. */
interface BakeRestore {
  colour: Colour;
  traffic: TrafficConfig;
  actions: Action[];
  /** The group's web members: each rule back to its own old colour. */
  members?: { colour: Colour; traffic: TrafficConfig }[];
}

/**
 * The fast rollback of a failed bake (alarm, unhealthy targets, rollback asked for), run by whoever
 * claimed its wait. The claim means the execution is parked in this bake, so nothing else moves
 * traffic now, and the old colour is still warm: it is scaled down only after the last bake, and only
 * once it takes no traffic. So the weights go straight back: one write with the rule's actions as
 * ShiftTraffic read them back when the bake began (the re-read before the write is the call saved;
 * a change made to the rule's other actions during the bake would be undone), then the read-back
 * that verifies it. The release's RollBackTraffic step still follows: it finds the weights back,
 * checks the old colour runs, and scales the new one to 0. Best effort: if this fails, that step
 * does the whole rollback, as it did before. Returns what happened, for the failure's cause.
 */
const restoreTraffic = async (wait: WaitRecord, deps: ResumeDeps): Promise<string | undefined> => {
  const restore = wait.condition.restore as BakeRestore | undefined;
  if (!restore) return undefined;
  try {
    // Every rule at once: the group's web services go back together.
    const [{ weights }] = await Promise.all([
      setWeights(deps.elbv2, restore.traffic, allTo(restore.colour), restore),
      ...(restore.members ?? []).map((m) => setWeights(deps.elbv2, m.traffic, allTo(m.colour))),
    ]);
    const at = deps.now().toISOString();
    await deps.store.updateRelease(wait.releaseId, { trafficRestoredAt: at, trafficPercent: 0 });
    return `all traffic back on ${restore.colour} (blue=${weights.blue} green=${weights.green}), verified at ${at}`;
  } catch (error) {
    logger.warn('fast rollback did not complete; RollBackTraffic puts traffic back', {
      releaseId: wait.releaseId,
      error: (error as Error).message,
    });
    return undefined;
  }
};

/**
 * Resumes a wait whose check is done or failed: claims it (exactly one caller wins), records the
 * phase, then sends the token. A failed bake first puts traffic back (`restoreTraffic`). Returns
 * false if another caller did; else whether its task heard it (`delivered`) or had already closed.
 */
export const resumeWait = async (
  wait: WaitRecord,
  check: WaitCheck,
  deps: ResumeDeps,
): Promise<false | 'delivered' | 'closed'> => {
  if (check.state === 'pending') return false;
  if (!(await deps.store.claimWait(wait))) return false;
  // Not in a bake's last seconds: its Task may time out and the release move on meanwhile.
  const restored =
    watchesTraffic(wait.kind) &&
    check.state === 'failed' &&
    deps.now().getTime() + FAST_ROLLBACK_MARGIN_MS < Date.parse(wait.condition.endsAt as string)
      ? await restoreTraffic(wait, deps)
      : undefined;
  let delivered: boolean;
  try {
    delivered =
      check.state === 'done'
        ? await sendSuccess(deps.sfn, wait.taskToken, check.output)
        : await sendFailure(
            deps.sfn,
            wait.taskToken,
            check.error,
            restored ? `${check.cause}; ${restored}` : check.cause,
          );
  } catch (error) {
    // The token was not delivered: hand the wait back so an event or the reconciler tries again.
    await deps.store.unclaimWait(wait);
    throw error;
  }
  // A bake that ran its course ended at its deadline, however late this record is closed.
  const endedAt =
    watchesTraffic(wait.kind) && check.state === 'done'
      ? (wait.condition.endsAt as string)
      : deps.now().toISOString();
  await deps.store.appendPhase(wait.releaseId, {
    name: waitPhase[wait.kind],
    startedAt: (wait.condition.startedAt as string | undefined) ?? wait.createdAt,
    endedAt,
    status: check.state === 'done' ? 'succeeded' : 'failed',
    detail:
      check.state === 'failed'
        ? check.cause
        : wait.kind === WaitKind.HookTask
          ? `hook ${wait.condition.hook}: its task stopped (exit code ${check.output.exitCode ?? 'none'})`
          : wait.condition.member
            ? `${wait.condition.member}: ${wait.condition.service} ${wait.kind === WaitKind.ServiceDrained ? 'drained (every task STOPPED)' : 'stable'}`
            : undefined,
  });
  // A task already closed (its timeout fired, or its execution ended) heard nothing from this.
  return delivered ? 'delivered' : 'closed';
};
