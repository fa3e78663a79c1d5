import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ReleaseDeps } from '../shared/deps.ts';
import { HealthCheckFailed } from '../shared/errors.ts';
import type { MemberPlan } from '../shared/group.ts';
import { describeMemberFailures, failedMemberTasks } from '../shared/member-health.ts';
import { judgeTargets } from './targets.ts';

/**
 * The group's members, judged with the primary before any traffic moves: every web member's new
 * target group healthy at its size, and no task of any member's new colour stopped on its own since
 * it was deployed (a worker has no load balancer to judge it). A singleton's new colour runs nothing
 * yet; it is judged when it starts at the cut-over. Returns one line for the audit trail.
 */
export const judgeMembers = async (
  members: MemberPlan[],
  deps: Pick<ReleaseDeps, 'ecs' | 'elbv2'>,
  /** This execution's start: tasks created before it are not its doing (member-health.ts). */
  since?: Date,
): Promise<string | undefined> => {
  if (members.length === 0) return undefined;
  const web = members.filter((m) => m.traffic);
  const [failures, ...healths] = await Promise.all([
    failedMemberTasks(
      deps.ecs,
      members.map((m) => ({ member: m.name, cluster: m.cluster, service: m.toService })),
      since,
    ),
    ...web.map((m) =>
      deps.elbv2.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: m.traffic?.targetGroups[m.toColour] as string }),
      ),
    ),
  ]);
  if (failures.size > 0)
    throw new HealthCheckFailed(`before any traffic moved: ${describeMemberFailures(failures)}`);
  web.forEach((m, i) => {
    judgeTargets(
      healths[i]?.TargetHealthDescriptions ?? [],
      m.desiredCount,
      `group member ${m.name}: ${m.toColour}`,
    );
  });
  return `group: ${members.map((m) => `${m.name} (${m.role}) ${m.role === 'singleton' ? 'waits for the cut-over' : 'ok'}`).join(', ')}`;
};
