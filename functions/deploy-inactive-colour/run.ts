import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { containerImage, describeService } from '../shared/ecs.ts';
import { ResourceNotFound, RollbackRequested } from '../shared/errors.ts';
import { fenceDeployment, haltReason } from '../shared/halt.ts';
import type { ReleaseRecord } from '../shared/store.ts';
import { withImage } from '../shared/task-definition.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'ecr' | 'elbv2'>;

/**
 * Registers the live task definition again with the new image pinned by digest, and rolls it out
 * on the idle colour's service at the live colour's size. Idempotent: a retry that finds the idle
 * service already on that image does not register another revision.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const { plan } = input;
  const release = await deps.store.getRelease(input.releaseId);
  if (!release) throw new ResourceNotFound(`release record ${input.releaseId} not found`);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; nothing deployed`);
  const taskDefinitionArn =
    plan.deployTaskDefinitionArn ?? (await releaseTaskDefinition(input, deps, release));

  await deps.ecs.send(
    new UpdateServiceCommand({
      cluster: plan.cluster,
      service: plan.toService,
      taskDefinition: taskDefinitionArn,
      desiredCount: plan.desiredCount,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
    }),
  );
  await fenceDeployment(deps, input.releaseId, plan.cluster, plan.toService);
  await deps.store.updateRelease(input.releaseId, { taskDefinitionArn });

  if (target.traffic.testListenerArn) {
    await pointTestListener(deps, target.traffic.testListenerArn, target.traffic.targetGroups[plan.toColour]);
  }
  return {
    cluster: plan.cluster,
    service: plan.toService,
    taskDefinitionArn,
    desiredCount: plan.desiredCount,
  };
};

/**
 * The task definition carrying the release's image: the idle service's own if this release already
 * registered it (a retry of this step), else a new revision of the live one with the image pinned by
 * digest. An earlier attempt's revision with the same image is not reused: setting a service to the
 * task definition it already has starts no new deployment in ECS, and its PRIMARY deployment would
 * still be that attempt's (perhaps FAILED) one.
 */
const releaseTaskDefinition = async (input: Input, deps: Deps, release: ReleaseRecord): Promise<string> => {
  const target = findTarget(deps.targets, input.target);
  const { plan } = input;
  if (!release.image) throw new ResourceNotFound(`release record ${input.releaseId} names no image`);
  const repo = await deps.ecr.send(
    new DescribeRepositoriesCommand({ repositoryNames: [target.image.repository] }),
  );
  const uri = repo.repositories?.[0]?.repositoryUri;
  if (!uri) throw new ResourceNotFound(`ECR repository ${target.image.repository} not found`);
  const image = `${uri}@${release.image.digest}`;

  const idle = await describeService(deps.ecs, plan.cluster, plan.toService);
  let taskDefinitionArn: string | undefined;
  if (idle.taskDefinition) {
    const current = await deps.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: idle.taskDefinition, include: ['TAGS'] }),
    );
    const registeredByThisRelease = (current.tags ?? []).some(
      (t) => t.key === 'switchyard:release' && t.value === input.releaseId,
    );
    if (
      registeredByThisRelease &&
      containerImage(current.taskDefinition?.containerDefinitions, plan.container) === image
    ) {
      taskDefinitionArn = idle.taskDefinition;
    }
  }
  if (!taskDefinitionArn) {
    const live = await deps.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: plan.fromTaskDefinitionArn, include: ['TAGS'] }),
    );
    if (!live.taskDefinition)
      throw new ResourceNotFound(`task definition ${plan.fromTaskDefinitionArn} not found`);
    // The release's own definition (task-definition.ts), else a copy of the live one.
    const base = (release.taskDefinitionRequest as TaskDefinition | undefined) ?? live.taskDefinition;
    const registered = await deps.ecs.send(
      new RegisterTaskDefinitionCommand({
        ...withImage(base, plan.container, image),
        tags: [
          ...(live.tags ?? []).filter((t) => !t.key?.startsWith('switchyard:')),
          { key: 'switchyard:release', value: input.releaseId },
        ],
      }),
    );
    taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn;
    if (!taskDefinitionArn) throw new ResourceNotFound('RegisterTaskDefinition returned no ARN');
  }
  return taskDefinitionArn;
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
