/**
 * Whether a group member's new colour runs as it should: no task of it has stopped on its own since
 * the release deployed it. A worker has no load balancer to judge it, and ECS's own count of failed
 * tasks (`failedTasks`) resets and stops counting once a deployment has tasks running (ECS API
 * reference, Deployment.failedTasks), so a worker that starts and then fails on real work shows only
 * in its stopped tasks: `EssentialContainerExited` (its process exited) or `TaskFailedToStart`.
 */
import { DescribeTasksCommand, type ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';

import { describeServicesIn } from './ecs.ts';

type Ecs = Pick<ECSClient, 'send'>;

const FAILED_STOP_CODES = new Set(['EssentialContainerExited', 'TaskFailedToStart']);

export interface MemberService {
  member: string;
  cluster: string;
  service: string;
}

/**
 * For each service, a line per task that stopped on its own since its PRIMARY deployment was
 * created (the release's deployment of that colour). DescribeServices 10 at a time (describeServicesIn); one ListTasks
 * (STOPPED) per service, and DescribeTasks only where it lists any.
 */
export const failedMemberTasks = async (
  ecs: Ecs,
  services: MemberService[],
): Promise<Map<string, string[]>> => {
  const failures = new Map<string, string[]>();
  for (const [cluster, some] of Map.groupBy(services, (s) => s.cluster)) {
    const described = await describeServicesIn(
      ecs,
      cluster,
      some.map((s) => s.service),
    );
    await Promise.all(
      some.map(async (s) => {
        const service = described.find((x) => x.serviceName === s.service);
        const since = service?.deployments?.find((d) => d.status === 'PRIMARY')?.createdAt?.getTime() ?? 0;
        const failedRollout = service?.deployments?.find(
          (d) => d.status === 'PRIMARY' && d.rolloutState === 'FAILED',
        );
        const lines: string[] = failedRollout
          ? [`deployment FAILED: ${failedRollout.rolloutStateReason ?? 'no reason given'}`]
          : [];
        const stopped = await ecs.send(
          new ListTasksCommand({ cluster, serviceName: s.service, desiredStatus: 'STOPPED' }),
        );
        if ((stopped.taskArns ?? []).length > 0) {
          const tasks = await ecs.send(new DescribeTasksCommand({ cluster, tasks: stopped.taskArns ?? [] }));
          for (const t of tasks.tasks ?? []) {
            if (!FAILED_STOP_CODES.has(t.stopCode ?? '') || (t.stoppedAt?.getTime() ?? 0) < since) continue;
            const exit = t.containers?.find((c) => c.exitCode !== undefined)?.exitCode;
            lines.push(
              `task ${t.taskArn?.split('/').at(-1)} stopped: ${t.stopCode}${exit !== undefined ? ` (exit code ${exit})` : ''}${t.stoppedReason ? `: ${t.stoppedReason}` : ''}`,
            );
          }
        }
        if (lines.length > 0) failures.set(s.member, lines);
      }),
    );
  }
  return failures;
};

/** One sentence naming each failing member and its first failures. */
export const describeMemberFailures = (failures: Map<string, string[]>): string =>
  [...failures.entries()]
    .map(([member, lines]) => `group member ${member}: ${lines.slice(0, 3).join('; ')}`)
    .join('; ');
