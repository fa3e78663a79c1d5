/**
 * The release's new task definition revision: the live one (or the release's own definition)
 * registered again with the new image pinned by digest, tagged with the release. Registered by the
 * deploy, or before it by RegisterRevision when preDeploy hooks must run the new version first; the
 * deploy then rolls out the revision the hooks ran.
 */
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  RegisterTaskDefinitionCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { findTarget } from './config.ts';
import type { ReleaseDeps } from './deps.ts';
import { containerImage, describeService } from './ecs.ts';
import { ResourceNotFound } from './errors.ts';
import type { PlannedStep } from './schemas.ts';
import { settled } from './settled.ts';
import type { ReleaseRecord } from './store.ts';
import { withImage } from './task-definition.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'ecs' | 'ecr'>;
type Store = Pick<ReleaseDeps, 'store'>['store'];

/** The release's image as a task definition names it: its repository's URI and its digest. */
const pinnedImage = async (input: PlannedStep, deps: Deps, release: ReleaseRecord): Promise<string> => {
  const target = findTarget(deps.targets, input.target);
  if (!release.image) throw new ResourceNotFound(`release record ${input.releaseId} names no image`);
  const repo = await deps.ecr.send(
    new DescribeRepositoriesCommand({ repositoryNames: [target.image.repository] }),
  );
  const uri = repo.repositories?.[0]?.repositoryUri;
  if (!uri) throw new ResourceNotFound(`ECR repository ${target.image.repository} not found`);
  return `${uri}@${release.image.digest}`;
};

type Ecs = Pick<ReleaseDeps, 'ecs'>['ecs'];
type Described = DescribeTaskDefinitionCommandOutput;

/** A task definition with its tags (a copy keeps the live definition's tags). */
const describeWithTags = async (ecs: Ecs, taskDefinitionArn: string): Promise<Described> => {
  const described = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn, include: ['TAGS'] }),
  );
  if (!described.taskDefinition) throw new ResourceNotFound(`task definition ${taskDefinitionArn} not found`);
  return described;
};

/** The idle service's task definition, described, or undefined when it names none. */
const idleDefinition = async (
  ecs: Ecs,
  where: { cluster: string; service: string },
): Promise<Described | undefined> => {
  const idle = await describeService(ecs, where.cluster, where.service);
  return idle.taskDefinition ? describeWithTags(ecs, idle.taskDefinition) : undefined;
};

/**
 * The idle definition's ARN if this release registered it with this image: what a retried deploy
 * finds. An earlier attempt's revision with the same image is not reused: setting a service to the
 * task definition it already has starts no new deployment in ECS, and its PRIMARY deployment would
 * still be that attempt's (perhaps FAILED) one.
 */
const ownRevision = (
  idle: Described | undefined,
  releaseId: string,
  container: string,
  image: string,
): string | undefined => {
  const mine = (idle?.tags ?? []).some((t) => t.key === 'switchyard:release' && t.value === releaseId);
  return mine && containerImage(idle?.taskDefinition?.containerDefinitions, container) === image
    ? idle?.taskDefinition?.taskDefinitionArn
    : undefined;
};

/** `described` (or `base`, with its tags) registered again with `image` in `container`, tagged with this release. */
const registerDescribed = async (
  ecs: Ecs,
  releaseId: string,
  described: Described,
  live: { container: string; base?: TaskDefinition | undefined },
  image: string,
): Promise<string> => {
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      ...withImage(live.base ?? (described.taskDefinition as TaskDefinition), live.container, image),
      tags: [
        ...(described.tags ?? []).filter((t) => !t.key?.startsWith('switchyard:')),
        { key: 'switchyard:release', value: releaseId },
      ],
    }),
  );
  const arn = registered.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new ResourceNotFound('RegisterTaskDefinition returned no ARN');
  return arn;
};

/**
 * Registers `base` (default: the live definition) again with `image` in `container`, with the live
 * definition's tags and this release's.
 */
export const registerCopy = async (
  ecs: Ecs,
  releaseId: string,
  live: { taskDefinitionArn: string; container: string; base?: TaskDefinition },
  image: string,
): Promise<string> =>
  registerDescribed(ecs, releaseId, await describeWithTags(ecs, live.taskDefinitionArn), live, image);

/**
 * What a deploy rolls out on the idle service: its own definition if this release already registered
 * it with `image` (a retry), else the live one registered again with it. The idle service's
 * definition and the live one are read side by side (two calls less on the way to the deployment);
 * `image` may still be being read.
 */
export const deployRevision = async (
  ecs: Ecs,
  releaseId: string,
  where: { cluster: string; service: string; container: string },
  live: { taskDefinitionArn: string; base?: TaskDefinition | undefined },
  image: Promise<string>,
): Promise<string> => {
  const [imageRead, idleRead, liveRead] = await Promise.allSettled([
    image,
    idleDefinition(ecs, where),
    describeWithTags(ecs, live.taskDefinitionArn),
  ]);
  const pinned = settled(imageRead);
  return (
    ownRevision(settled(idleRead), releaseId, where.container, pinned) ??
    registerDescribed(ecs, releaseId, settled(liveRead), { ...live, container: where.container }, pinned)
  );
};

/** The release's new revision: its own definition (task-definition.ts), else the live one, with its image. */
export const registerRevision = async (
  input: PlannedStep,
  deps: Deps,
  release: ReleaseRecord,
  image?: string,
): Promise<string> =>
  registerCopy(
    deps.ecs,
    input.releaseId,
    {
      taskDefinitionArn: input.plan.fromTaskDefinitionArn,
      container: input.plan.container,
      base: release.taskDefinitionRequest as TaskDefinition | undefined,
    },
    image ?? (await pinnedImage(input, deps, release)),
  );

/**
 * Records `registered` as the release's revision unless one is recorded already, and answers the
 * recorded one: the first record wins, so a retry (even one overlapping a still-running first
 * invocation) and every later step use one revision. A revision that lost is left unused: revisions
 * cost nothing, and Switchyard deletes none.
 */
export const recordRevision = async (
  store: Store,
  releaseId: string,
  registered: string,
): Promise<string> => {
  const first = await store.updateRelease(
    releaseId,
    { revisionArn: registered },
    { unlessSet: 'revisionArn' },
  );
  const recorded = first ? registered : (await store.getRelease(releaseId))?.revisionArn;
  if (!recorded) throw new ResourceNotFound(`release record ${releaseId} lost its revision`);
  return recorded;
};

/**
 * The task definition the deploy rolls out: the release's recorded revision (registered before the
 * preDeploy hooks, or by an earlier run of the deploy), else a new one, recorded before anything is
 * deployed. A retried deploy so reads nothing from ECS once the revision is registered. Before, each
 * run read the idle service and its definition to find a revision of its own: at a platform-wide
 * rebuild, deploys re-run while RegisterTaskDefinition (1/s for the account) turned them away, and
 * those reads used up ECS's read budget for every release (bench/scale.ts).
 */
export const releaseRevision = async (
  input: PlannedStep,
  deps: Deps & { store: Store },
  release: ReleaseRecord,
): Promise<string> => {
  if (release.revisionArn) return release.revisionArn;
  const { plan } = input;
  const [imageRead, liveRead] = await Promise.allSettled([
    pinnedImage(input, deps, release),
    describeWithTags(deps.ecs, plan.fromTaskDefinitionArn),
  ]);
  const registered = await registerDescribed(
    deps.ecs,
    input.releaseId,
    settled(liveRead),
    { container: plan.container, base: release.taskDefinitionRequest as TaskDefinition | undefined },
    settled(imageRead),
  );
  return recordRevision(deps.store, input.releaseId, registered);
};
