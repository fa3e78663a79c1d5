/**
 * The ops rollback of a promoted group: every member goes back to the revision it ran before the
 * promoted release, on the colour it ran then. After promotion the old colours are at 0, so each
 * one is redeployed (a copy of its last good revision, as DeployMember registers one) at the size
 * its live colour runs now; web members' rules move with the primary's, a singleton changes over
 * once its current colour has stopped, as in a release.
 */
import { DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { containerImage, describeServicesIn } from '../shared/ecs.ts';
import { InvalidInput, NothingToRollBack, ResourceNotFound } from '../shared/errors.ts';
import type { MemberPlan } from '../shared/group.ts';
import type { ReleaseRecord } from '../shared/store.ts';
import { liveColour, readWeights } from '../shared/traffic.ts';
import { Outcome } from '../shared/vocabulary.ts';

interface Aws {
  ecs: Pick<ECSClient, 'send'>;
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
}

/** Each member of `promoted`'s group, planned back: from the colour it put live to the one before. */
export const planGroupRollback = async (
  target: { name: string },
  promoted: ReleaseRecord,
  aws: Aws,
): Promise<{ members: MemberPlan[]; alreadyBack: string[] }> => {
  const members = promoted.members ?? [];
  if (members.length === 0)
    throw new InvalidInput(
      `${promoted.releaseId} recorded no group plan (it ran before groups were recorded), so ${target.name}'s group cannot be put back from it: release the previous tag instead (\`switchyard release --target ${target.name} --tag <previous>\`)`,
    );
  const cluster = members[0]?.cluster as string;
  // Both colours of each member: a member of a release whose rollback failed may be back already.
  const services = await describeServicesIn(
    aws.ecs,
    cluster,
    members.flatMap((m) => [m.toService, m.fromService]),
  );
  const plans: MemberPlan[] = [];
  const alreadyBack: string[] = [];
  // A release whose own rollback failed may have put some members back already (review of fb51c45:
  // before, the whole rollback was refused). Those are left out of the plan and named: a web member
  // whose rule is back (planned, the rollback's steps acted on the colour that serves: a deploy's
  // fence could scale it to 0, a stopped shift's undo or the recovery put its rule on the bad colour;
  // reviews of 732821c and 2569fa8), a worker or a singleton whose old colour runs again. A singleton
  // caught mid cut-over (both colours at 0) is planned, and started again (review of aaf591d).
  const stranded = promoted.outcome === Outcome.RollbackFailed;
  for (const m of members) {
    const live = services.find((s) => s.serviceName === m.toService);
    const old = services.find((s) => s.serviceName === m.fromService);
    if (m.traffic) {
      const where = m.traffic.listenerRuleArn ?? m.traffic.listenerArn ?? '';
      const { weights } = await readWeights(aws.elbv2, m.traffic);
      // A rule the release left split (its rollback failed) is on the release's colour: all of it goes back.
      const colour = weights[m.toColour] > 0 ? m.toColour : liveColour(weights, where);
      if (stranded && colour === m.fromColour) {
        alreadyBack.push(
          `${m.name} (its rule back on ${m.fromColour}${(live?.desiredCount ?? 0) > 0 ? `; ${m.toService} still runs ${live?.desiredCount} task(s) with no traffic: scale it to 0 by hand` : ''})`,
        );
        continue;
      }
      if (colour !== m.toColour)
        throw new NothingToRollBack(
          `group member ${m.name}'s traffic is on ${colour}, not on ${m.toColour} where ${promoted.releaseId} put it; nothing of it to roll back`,
        );
    } else if ((live?.desiredCount ?? 0) < 1) {
      if (stranded && (old?.desiredCount ?? 0) >= 1) {
        alreadyBack.push(`${m.name} (${m.fromService} runs again)`);
        continue;
      }
      if (!stranded)
        throw new NothingToRollBack(
          `group member ${m.name}'s ${m.toService} (where ${promoted.releaseId} put it) runs nothing; nothing of it to roll back`,
        );
    }
    const lastGood = await aws.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: m.fromTaskDefinitionArn }),
    );
    const image = containerImage(lastGood.taskDefinition?.containerDefinitions, m.container);
    if (!image)
      throw new ResourceNotFound(
        `group member ${m.name}'s last good task definition ${m.fromTaskDefinitionArn} has no container "${m.container}" (deregistered?): release the previous tag instead`,
      );
    plans.push({
      ...m,
      fromColour: m.toColour,
      toColour: m.fromColour,
      fromService: m.toService,
      toService: m.fromService,
      // The size it runs at now; a member at 0 on both colours (mid cut-over) at the size it was released at.
      desiredCount: Math.max(1, live?.desiredCount || m.desiredCount),
      // fromTaskDefinitionArn stays the last good revision: DeployMember registers a copy of it.
      image,
    });
  }
  return { members: plans, alreadyBack };
};
