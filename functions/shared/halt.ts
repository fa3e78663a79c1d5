/**
 * Why a release must not move anything any more, if it must not: a rollback asked it to stop
 * (`abortRequestedBy`), or its execution ended and the recovery took over (`haltedBy`). A Lambda
 * invocation already running when an execution stops is not stopped by AWS; the steps that change
 * traffic or services read this before and after their change (a fence), and the recovery writes
 * `haltedBy` before it reads anything, so either the step sees the halt and undoes its change, or
 * its change landed before the recovery read the world and the recovery undoes it.
 */
import { type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { type Deployment, scaleService, startedDeployment } from './ecs.ts';
import { RollbackRequested } from './errors.ts';
import { type ClaimDeps, withServiceClaim } from './service-claims.ts';
import type { ReleaseRecord, Store } from './store.ts';

export const haltReason = (record: ReleaseRecord | undefined): string | undefined => {
  if (record?.abortRequestedBy) return `rollback ${record.abortRequestedBy} was requested`;
  if (record?.haltedBy === 'clean-up') return 'it is being cleaned up (it stopped before traffic moved)';
  if (record?.haltedBy) return `its execution ended (${record.haltedBy}) and the recovery took over`;
  return undefined;
};

/**
 * Rolls `deployment` out on its service, holding the service's claim (service-claims.ts): the halt
 * read again under the claim (a rollback that stopped this release marked it halted before it could
 * claim the service, so either this sees the halt or the rollback's change waits for this one),
 * UpdateService with the circuit breaker on (and no ECS rollback: Switchyard cleans up itself), then
 * the fence. Answers the deployment ECS started (stabilityOn waits for that one).
 */
export const deployFenced = (
  deps: ClaimDeps & { store: Pick<Store, 'getRelease'>; ecs: Pick<ECSClient, 'send'> },
  releaseId: string,
  deployment: Omit<Deployment, 'deploymentId'>,
  what: string,
): Promise<string | undefined> => {
  const { cluster, service, taskDefinitionArn, desiredCount } = deployment;
  return withServiceClaim(deps, releaseId, { cluster, service }, async () => {
    const late = haltReason(await deps.store.getRelease(releaseId));
    if (late) throw new RollbackRequested(`${late}; ${what} not deployed`);
    const updated = await deps.ecs.send(
      new UpdateServiceCommand({
        cluster,
        service,
        taskDefinition: taskDefinitionArn,
        desiredCount,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
      }),
    );
    await fenceDeployment(deps, releaseId, cluster, service);
    return startedDeployment(updated);
  });
};

/**
 * The fence after a deployment: this invocation may outlive its execution's interest in it (the
 * Parallel failed, a rollback stopped the release, the clean-up already scaled this colour to 0).
 * A deployment that lands after that must not leave tasks running that nobody will scale down.
 */
const fenceDeployment = async (
  deps: { store: Pick<Store, 'getRelease'>; ecs: Pick<ECSClient, 'send'> },
  releaseId: string,
  cluster: string,
  service: string,
): Promise<void> => {
  const after = await deps.store.getRelease(releaseId);
  const stopped = haltReason(after) ?? (after?.outcome ? `it ended ${after.outcome}` : undefined);
  if (!stopped) return;
  await scaleService(deps.ecs, cluster, service, 0);
  throw new RollbackRequested(
    `${releaseId} stopped (${stopped}) while ${service} was being deployed; scaled back to 0`,
  );
};

/** Why a late step changed nothing (`scaleUnlessEnded`). */
export const ENDED =
  'the release already has its outcome (its recovery put the target back, and may have handed it on): nothing changed';

/**
 * Scales a colour to 0 on the way back (RollBackTraffic, CleanUpInactiveColour), unless the release
 * already has its outcome: then the recovery did this, and may have handed the target to the next
 * release, whose colour this service may be by now. Called under the service's claim: the recovery
 * records the outcome before it frees the lock, so a step that claims later sees it. False if skipped.
 */
export const scaleUnlessEnded = async (
  deps: { store: Pick<Store, 'getRelease'>; ecs: Pick<ECSClient, 'send'> },
  releaseId: string,
  cluster: string,
  service: string,
): Promise<boolean> => {
  if ((await deps.store.getRelease(releaseId))?.outcome) return false;
  await scaleService(deps.ecs, cluster, service, 0);
  return true;
};
