import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { ResourceNotFound, RollbackRequested } from '../shared/errors.ts';
import { deployFenced, haltReason } from '../shared/halt.ts';
import { registrationWait, waitingForTurn } from '../shared/registration-turns.ts';
import { releaseRevision } from '../shared/revision.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  'targets' | 'store' | 'ecs' | 'ecr' | 'elbv2' | 'now' | 'invocationEndsAt' | 'invocationId'
>;

/**
 * Rolls the release's revision out on the idle colour's service at the live colour's size: the one
 * registered before the preDeploy hooks, else the live task definition registered again with the new
 * image pinned by digest (shared/revision.ts). Idempotent: a retry rolls out the revision recorded
 * by the run that registered it. It deploys holding its claim on the service
 * (shared/service-claims.ts), so a stopped release's late call cannot land on the next owner's
 * deployment. A release that must first wait for its turn to register
 * (shared/registration-turns.ts) answers `waitUntil`, and the state machine runs this again then.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const { plan } = input;
  const release = await deps.store.getRelease(input.releaseId);
  if (!release) throw new ResourceNotFound(`release record ${input.releaseId} not found`);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; nothing deployed`);
  const waitUntil =
    !plan.deployTaskDefinitionArn &&
    !release.revisionArn &&
    registrationWait(deps, release.registrationTurnAt);
  if (waitUntil) return waitingForTurn(waitUntil);
  const taskDefinitionArn = plan.deployTaskDefinitionArn ?? (await releaseRevision(input, deps, release));

  const deployment = {
    cluster: plan.cluster,
    service: plan.toService,
    taskDefinitionArn,
    desiredCount: plan.desiredCount,
  };
  const deploymentId = await deployFenced(deps, input.releaseId, deployment, plan.toService);
  await deps.store.updateRelease(input.releaseId, { taskDefinitionArn });

  if (target.traffic.testListenerArn) {
    await pointTestListener(deps, target.traffic.testListenerArn, target.traffic.targetGroups[plan.toColour]);
  }
  return { ...deployment, deploymentId };
};

/** The test listener carries only probe traffic, so it may point at the new colour before any user does. */
const pointTestListener = async (deps: Deps, listenerArn: string, targetGroupArn: string) => {
  const out = await deps.elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
  const listener = out.Listeners?.[0];
  if (!listener) throw new ResourceNotFound(`test listener ${listenerArn} not found`);
  await deps.elbv2.send(
    new ModifyListenerCommand({
      ListenerArn: listenerArn,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
};
