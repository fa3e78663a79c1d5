import type { ReleaseDeps } from '../shared/deps.ts';
import { describeService, scaleService } from '../shared/ecs.ts';
import { ResourceNotFound, RollbackRequested, TransientError } from '../shared/errors.ts';
import { leftAsItIs, MemberRole } from '../shared/group.ts';
import { haltReason } from '../shared/halt.ts';
import { withServiceClaim } from '../shared/service-claims.ts';
import { settled } from '../shared/settled.ts';
import { drainedCheck } from '../shared/waits.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'now' | 'invocationEndsAt' | 'invocationId'>;

/**
 * Scales one colour of a group member to the member's size: a singleton's new colour at the
 * cut-over (after its old one drained), and its old colour on the way back. Scaling starts no new
 * deployment: the colour runs the task definition it has (the release's on the new colour, the
 * previous one on the old), and the stable wait that follows checks that it does.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { member } = input;
  const service = input.side === 'from' ? member.fromService : member.toService;
  // Forward, a halt stops it (RollbackRequested). On the way back, the release's outcome means its
  // recovery set this colour, and may have handed the target on: it is left as it is (halt.ts: ENDED).
  const mayStart = async () => {
    const record = await deps.store.getRelease(input.releaseId);
    if (!input.forward) return record?.outcome === undefined;
    const halted = haltReason(record);
    if (halted) throw new RollbackRequested(`${halted}; ${service} not started`);
    return true;
  };
  // A colour may still have tasks of its own stopping (a cut-over cut short): a singleton's process
  // must have exited before another starts. Retried until it has. Its tasks, not its count: ECS's
  // reads may not show a scale-down made a moment ago (shared/ecs.ts); one still running (a retry
  // after this step started it) has none stopping. Read beside its service and the halt, judged after it.
  const singleton = member.role === MemberRole.Singleton;
  const [may, described, drainedRead] = await Promise.allSettled([
    mayStart(),
    describeService(deps.ecs, member.cluster, service),
    singleton ? drainedCheck(deps, member.cluster, service, true) : undefined,
  ]);
  const allowed = settled(may);
  const current = settled(described);
  if (!allowed) return leftAsItIs(member, service, current);
  if (!current.taskDefinition) throw new ResourceNotFound(`${service} has no task definition`);
  const drained = settled(drainedRead);
  if (drained && drained.state !== 'done')
    throw new TransientError(
      `${service} is still stopping its own tasks (${drained.state === 'pending' ? drained.detail : drained.state}); it starts once they have stopped`,
    );
  const started = await withServiceClaim(
    deps,
    input.releaseId,
    { cluster: member.cluster, service },
    async () => {
      // Again under the claim: the recovery writes its halt, then reads the claims, so either this
      // sees the halt or the recovery waits for this step (the read above may predate both).
      if (!(await mayStart())) return false;
      // Set whatever the read shows (a StopMember a moment ago may not show yet); the same count again
      // changes nothing.
      await scaleService(deps.ecs, member.cluster, service, member.desiredCount);
      // The fence (halt.ts): a release stopped while this landed must not leave the colour running.
      // Forward only: on the way back, an outcome recorded meanwhile came from a recovery that set
      // this colour the same way.
      const late = input.forward ? haltReason(await deps.store.getRelease(input.releaseId)) : undefined;
      if (late) {
        await scaleService(deps.ecs, member.cluster, service, 0);
        throw new RollbackRequested(`${late} as ${service} was started; scaled back to 0`);
      }
      return true;
    },
  );
  if (!started) return leftAsItIs(member, service, current);
  return {
    cluster: member.cluster,
    service,
    taskDefinitionArn: current.taskDefinition,
    desiredCount: member.desiredCount,
    summary: `${member.name} (${member.role}): ${service} ${(current.desiredCount ?? 0) === member.desiredCount ? 'already at' : 'scaled to'} ${member.desiredCount} on ${current.taskDefinition.split('/').at(-1)}`,
  };
};
