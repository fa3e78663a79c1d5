import type { ReleaseDeps } from '../shared/deps.ts';
import { describeService, scaleService } from '../shared/ecs.ts';
import { RollbackRequested, TrafficSplit } from '../shared/errors.ts';
import { leftAsItIs } from '../shared/group.ts';
import { haltReason } from '../shared/halt.ts';
import { withServiceClaim } from '../shared/service-claims.ts';
import { readWeights } from '../shared/traffic.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'elbv2' | 'now' | 'invocationEndsAt' | 'invocationId'>;

/**
 * Scales one colour of a group member to 0: its old colour at the cut-over (a singleton, a cut-over
 * worker) and at promotion; its new colour on the way back (clean-up, rollback). A web member's
 * colour that still has weight is never scaled down. Scaling stops the tasks; a singleton's other
 * colour waits for them to have STOPPED (WaitForServiceDrained) before it starts.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { member } = input;
  const colour = input.side === 'from' ? member.fromColour : member.toColour;
  const service = input.side === 'from' ? member.fromService : member.toService;
  if (member.traffic) {
    const { weights } = await readWeights(deps.elbv2, member.traffic);
    if (weights[colour] > 0)
      throw new TrafficSplit(
        `${member.name}'s ${colour} (${service}) still has weight ${weights[colour]}; not scaling it down`,
      );
  }
  const { before, running } = await withServiceClaim(
    deps,
    input.releaseId,
    { cluster: member.cluster, service },
    async () => {
      // Under the claim, beside the read of the service: the recovery writes its halt, then reads
      // the claims, so either this sees the halt or the recovery waits for this step.
      const [release, before] = await Promise.all([
        deps.store.getRelease(input.releaseId),
        describeService(deps.ecs, member.cluster, service),
      ]);
      const halted = input.forward ? haltReason(release) : undefined;
      if (halted) throw new RollbackRequested(`${halted}; ${service} kept running`);
      // On the way back, once the release has its outcome: its recovery set this colour, and may
      // have handed the target on; the colour may be the next release's by now (group.ts: leftAsItIs).
      if (!input.forward && release?.outcome) return { before, running: undefined };
      const running = before.desiredCount ?? 0;
      // Scaled whatever the read shows: a StartMember a moment ago may not show yet (ECS's reads are
      // eventually consistent, shared/ecs.ts); setting 0 again changes nothing.
      await scaleService(deps.ecs, member.cluster, service, 0);
      // The fence (halt.ts): halted while this landed, on the way forward, the colour runs again: the
      // recovery may have read the group before this change and left it as it found it.
      const late = input.forward ? haltReason(await deps.store.getRelease(input.releaseId)) : undefined;
      // Put back only what the read saw running: starting a colour blindly could run a singleton
      // twice; the recovery sets each colour itself (recovery.ts).
      if (late && running > 0) {
        await scaleService(deps.ecs, member.cluster, service, running);
        throw new RollbackRequested(`${late} as ${service} was scaled down; scaled back to ${running}`);
      }
      return { before, running };
    },
  );
  if (running === undefined) return leftAsItIs(member, service, before);
  return {
    cluster: member.cluster,
    service,
    taskDefinitionArn: before.taskDefinition ?? '',
    desiredCount: 0,
    summary: `${member.name} (${member.role}): ${service} ${running > 0 ? `scaled from ${running} to 0` : 'already at 0'}`,
  };
};
