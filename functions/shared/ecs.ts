import {
  DescribeServicesCommand,
  type ECSClient,
  ListTasksCommand,
  type Service,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { ResourceNotFound } from './errors.ts';

type Ecs = Pick<ECSClient, 'send'>;

/** A service set to run a task definition at a size: what a deploy or scale step reports, and what a stable wait waits for. */
export interface Deployment {
  cluster: string;
  service: string;
  taskDefinitionArn: string;
  desiredCount: number;
  /** The deployment ECS started (UpdateService's answer): none when only the count changed. */
  deploymentId?: string | undefined;
}

/** Describes one service; a missing or inactive one is `ResourceNotFound`. */
export const describeService = async (ecs: Ecs, cluster: string, service: string): Promise<Service> =>
  (await describeServices(ecs, cluster, [service]))[0] as Service;

/**
 * Up to 10 services of one cluster in one DescribeServices call (its limit), in the order named;
 * one missing or INACTIVE is ResourceNotFound, naming it. One call where there would be several:
 * ECS service reads are 20 a second for the whole account (request throttling), shared by every
 * release at once.
 */
export const describeServices = async (ecs: Ecs, cluster: string, names: string[]): Promise<Service[]> => {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: names }));
  return names.map((name) => {
    const found = out.services?.find((s) => s.serviceName === name || s.serviceArn?.endsWith(`/${name}`));
    if (!found || found.status === 'INACTIVE') {
      const reason =
        out.failures?.find((f) => f.arn?.endsWith(`/${name}`))?.reason ?? (found ? 'INACTIVE' : 'MISSING');
      throw new ResourceNotFound(`ECS service ${name} in cluster ${cluster} not found (${reason})`);
    }
    return found;
  });
};

export type Stability =
  | { state: 'stable' }
  | { state: 'pending'; detail: string }
  | { state: 'failed'; detail: string };

/**
 * How long after a change a read of it may still show the service as it was: "The Amazon ECS API
 * follows an eventual consistency model ... the result of an API command you run that affects your
 * Amazon ECS resources might not be immediately visible to all subsequent commands you run" (ECS
 * API reference, RunTask). AWS gives no bound; a minute is well past the seconds it is observed to
 * take, and a check after it that still sees the old deployment is not a stale read.
 */
export const READ_AFTER_WRITE_GRACE_MS = 60_000;

/** Whether a read at `nowMs` may not show yet a change made before `changedAt` (epoch ms). */
export const mayNotShowYet = (changedAt: number, nowMs: number): boolean =>
  nowMs - changedAt < READ_AFTER_WRITE_GRACE_MS;

/**
 * Whether `service` is stable on the expected deployment: its PRIMARY deployment is that task
 * definition at that desired count, rolloutState is COMPLETED and all desired tasks run. The SDK's
 * waitUntilServicesStable ignores rolloutState and would call a circuit-breaker rollback "stable".
 * A PRIMARY deployment other than the one the update started, while that one is not listed at
 * all, is a read that does not show the update yet: pending for READ_AFTER_WRITE_GRACE_MS after
 * `changed.at` (the wait's start), failed after it. Listed but no longer PRIMARY, it was replaced:
 * failed.
 */
export const stabilityOn = (
  service: Service,
  expected: Pick<Deployment, 'taskDefinitionArn' | 'deploymentId'> & { desiredCount?: number | undefined },
  changed?: { at: number; now: number },
): Stability => {
  const { taskDefinitionArn, deploymentId } = expected;
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  if (!primary) return { state: 'pending', detail: 'no PRIMARY deployment yet' };
  const mayBeStale = changed !== undefined && mayNotShowYet(changed.at, changed.now);
  if (deploymentId !== undefined && primary.id !== deploymentId) {
    const detail =
      primary.taskDefinition !== taskDefinitionArn
        ? `PRIMARY deployment runs ${primary.taskDefinition}, not ${taskDefinitionArn}`
        : `PRIMARY deployment ${primary.id} is not the one the update started (${deploymentId})`;
    const listed = service.deployments?.some((d) => d.id === deploymentId);
    if (!listed && mayBeStale)
      return { state: 'pending', detail: `${detail}: ECS may not show the update yet` };
    return { state: 'failed', detail };
  }
  if (primary.taskDefinition !== taskDefinitionArn) {
    return {
      state: 'failed',
      detail: `PRIMARY deployment runs ${primary.taskDefinition}, not ${taskDefinitionArn}`,
    };
  }
  if (primary.rolloutState === 'FAILED') {
    return { state: 'failed', detail: primary.rolloutStateReason ?? 'rollout FAILED' };
  }
  const running = primary.runningCount ?? 0;
  const desired = primary.desiredCount ?? 0;
  // A scale-up on the same task definition starts no deployment: until ECS shows the new count, the
  // old one (0 tasks of 0, say) must not read as stable. Past the grace, another count is the
  // service's own (its autoscaling, say), judged as it is, but not 0 where tasks were asked for.
  if (expected.desiredCount !== undefined && desired !== expected.desiredCount) {
    if (mayBeStale || !changed)
      return { state: 'pending', detail: `desired count ${desired}, not yet ${expected.desiredCount}` };
    if (desired === 0)
      return { state: 'failed', detail: `desired count 0, not the ${expected.desiredCount} the step set` };
  }
  if (
    primary.rolloutState === 'COMPLETED' &&
    running === desired &&
    (service.deployments?.length ?? 0) === 1
  ) {
    return { state: 'stable' };
  }
  return {
    state: 'pending',
    detail: `${running}/${desired} tasks running, rollout ${primary.rolloutState ?? 'unknown'}`,
  };
};

/**
 * A service's task ARNs by desired status (RUNNING: starting or running; STOPPED: stopping, or
 * stopped within the hour ECS keeps them), every page of ListTasks: a crash loop, or a large colour
 * scaled down, stops more than a page (100) in an hour.
 */
export const serviceTasks = async (
  ecs: Ecs,
  cluster: string,
  serviceName: string,
  desiredStatus: 'RUNNING' | 'STOPPED',
): Promise<string[]> => {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTasksCommand({ cluster, serviceName, desiredStatus, ...(nextToken ? { nextToken } : {}) }),
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
};

/** Describes services of one cluster, 10 per call (DescribeServices' limit); missing and INACTIVE ones are left out. */
export const describeServicesIn = async (ecs: Ecs, cluster: string, names: string[]): Promise<Service[]> => {
  const found: Service[] = [];
  for (let i = 0; i < names.length; i += 10) {
    const out = await ecs.send(new DescribeServicesCommand({ cluster, services: names.slice(i, i + 10) }));
    found.push(...(out.services ?? []).filter((s) => s.status !== 'INACTIVE'));
  }
  return found;
};

/** The deployment an UpdateService started, from its answer (its PRIMARY deployment). */
export const startedDeployment = (out: { service?: Service | undefined }): string | undefined =>
  out.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;

/** Sets a service's desired count (no new deployment). */
export const scaleService = async (ecs: Ecs, cluster: string, service: string, desiredCount: number) => {
  await ecs.send(new UpdateServiceCommand({ cluster, service, desiredCount }));
};

/** The image of `container` in a task definition's container list. */
export const containerImage = (
  containers: { name?: string | undefined; image?: string | undefined }[] | undefined,
  container: string,
): string | undefined => containers?.find((c) => c.name === container)?.image;

/** The `sha256:…` digest pinned in an image reference, if any. */
export const digestOf = (image: string | undefined): string | undefined =>
  image?.match(/@(sha256:[0-9a-f]{64})$/)?.[1];
