/**
 * Whether a group member's new colour runs as it should: no task of it has stopped on its own since
 * the release deployed it. A worker has no load balancer to judge it, and ECS's own count of failed
 * tasks (`failedTasks`) resets and stops counting once a deployment has tasks running (ECS API
 * reference, Deployment.failedTasks), so a worker that starts and then fails on real work shows only
 * in its stopped tasks: `EssentialContainerExited` (its process exited) or `TaskFailedToStart`.
 */
import { DescribeTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';

import { describeServicesIn, serviceTasks } from './ecs.ts';

type Ecs = Pick<ECSClient, 'send'>;

const FAILED_STOP_CODES: ReadonlySet<string> = new Set(['EssentialContainerExited', 'TaskFailedToStart']);
/**
 * Only a container that exited by itself: the application's own failure. A task that failed to start
 * (an image pull or a network interface refused for a moment) may be ECS's passing trouble, which it
 * retries: not counted against a colour whose targets all read healthy.
 */
export const CRASHED_STOP_CODES: ReadonlySet<string> = new Set(['EssentialContainerExited']);

/** A task that stopped on its own, as a line for the audit trail; undefined for any other stop. */
const failureOf = (t: Task, codes: ReadonlySet<string> = FAILED_STOP_CODES): string | undefined => {
  if (!codes.has(t.stopCode ?? '')) return undefined;
  const exit = t.containers?.find((c) => c.exitCode !== undefined)?.exitCode;
  return `task ${t.taskArn?.split('/').at(-1)} stopped: ${t.stopCode}${exit !== undefined ? ` (exit code ${exit})` : ''}${t.stoppedReason ? `: ${t.stoppedReason}` : ''}`;
};

export interface MemberService {
  member: string;
  cluster: string;
  service: string;
}

/**
 * For each service, a line per task of its PRIMARY deployment (the release's deployment of that
 * colour) that stopped on its own. DescribeServices 10 at a time (describeServicesIn); one ListTasks
 * (STOPPED) per service, and DescribeTasks only where it lists any.
 */
export const failedMemberTasks = async (
  ecs: Ecs,
  services: MemberService[],
  /**
   * Only tasks created from then on. A rollback that scales a colour up on its old task definition
   * starts no deployment: the PRIMARY is the earlier release's, whose own crashes must not count.
   */
  since?: Date,
  /** The stop codes that count (by default a container that exited, and a task that failed to start). */
  stopCodes: ReadonlySet<string> = FAILED_STOP_CODES,
): Promise<Map<string, string[]>> => {
  const failures = new Map<string, string[]>();
  for (const [cluster, some] of Map.groupBy(services, (s) => s.cluster)) {
    // The deployments and the stopped tasks side by side: on every CheckHealth's way to traffic.
    // Every page of the tasks: a crash loop, or a large colour scaled down, stops more than 100 an hour.
    const [described, stoppedOf] = await Promise.all([
      describeServicesIn(
        ecs,
        cluster,
        some.map((s) => s.service),
      ),
      Promise.all(some.map((s) => serviceTasks(ecs, cluster, s.service, 'STOPPED'))),
    ]);
    await Promise.all(
      some.map(async (s, index) => {
        const service = described.find((x) => x.serviceName === s.service);
        const primary = service?.deployments?.find((d) => d.status === 'PRIMARY');
        // A task of the release's rollout was started by its deployment (a service task's startedBy
        // is its deployment's id). By time alone, a previous rollout's task that stopped after this
        // one began would count: a release pushed right after a failing one was blamed for it.
        const ofRollout = (t: Task) =>
          t.startedBy !== undefined
            ? t.startedBy === primary?.id
            : (t.createdAt?.getTime() ?? 0) >= (primary?.createdAt?.getTime() ?? 0);
        const failedRollout = service?.deployments?.find(
          (d) => d.status === 'PRIMARY' && d.rolloutState === 'FAILED',
        );
        const lines: string[] = failedRollout
          ? [`deployment FAILED: ${failedRollout.rolloutStateReason ?? 'no reason given'}`]
          : [];
        const stopped = stoppedOf[index] ?? [];
        for (let i = 0; i < stopped.length; i += 100) {
          const tasks = await ecs.send(
            new DescribeTasksCommand({ cluster, tasks: stopped.slice(i, i + 100) }),
          );
          for (const t of tasks.tasks ?? []) {
            const line = failureOf(t, stopCodes);
            const recent = since === undefined || (t.createdAt?.getTime() ?? 0) >= since.getTime();
            if (line && ofRollout(t) && recent) lines.push(line);
          }
        }
        if (lines.length > 0) failures.set(s.member, lines);
      }),
    );
  }
  return failures;
};

/**
 * One task's stop, re-read (the event is a hint): its line if it is a task of one of `services` that
 * this release started (created at or after `since`, when it began deploying) and that stopped on
 * its own; otherwise none.
 * One DescribeTasks: the path from a member's failure to the rollback stays within three calls
 * (this read, then the rule's write and its read-back).
 */
export const failedMemberTask = async (
  ecs: Ecs,
  services: MemberService[],
  stopped: { cluster: string; taskArn: string },
  since: number,
): Promise<Map<string, string[]>> => {
  const out = await ecs.send(
    new DescribeTasksCommand({ cluster: stopped.cluster, tasks: [stopped.taskArn] }),
  );
  const task = out.tasks?.[0];
  const member = services.find(
    (s) => s.cluster === stopped.cluster && task?.group === `service:${s.service}`,
  );
  const line = task && failureOf(task);
  if (!member || !line || task.lastStatus !== 'STOPPED' || (task.createdAt?.getTime() ?? 0) < since) {
    return new Map();
  }
  return new Map([[member.member, [line]]]);
};

/** One sentence naming each failing member and its first failures. */
export const describeMemberFailures = (failures: Map<string, string[]>): string =>
  [...failures.entries()]
    .map(([member, lines]) => `group member ${member}: ${lines.slice(0, 3).join('; ')}`)
    .join('; ');
