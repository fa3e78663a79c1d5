import {
  DescribeServicesCommand,
  type ECSClient,
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
 * Whether `service` is stable on `taskDefinitionArn`: its PRIMARY deployment is that task
 * definition, rolloutState is COMPLETED and all desired tasks run. The SDK's
 * waitUntilServicesStable ignores rolloutState and would call a circuit-breaker rollback "stable".
 */
export const stabilityOn = (service: Service, taskDefinitionArn: string): Stability => {
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  if (!primary) return { state: 'pending', detail: 'no PRIMARY deployment yet' };
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

/** Describes services of one cluster, 10 per call (DescribeServices' limit); missing and INACTIVE ones are left out. */
export const describeServicesIn = async (ecs: Ecs, cluster: string, names: string[]): Promise<Service[]> => {
  const found: Service[] = [];
  for (let i = 0; i < names.length; i += 10) {
    const out = await ecs.send(new DescribeServicesCommand({ cluster, services: names.slice(i, i + 10) }));
    found.push(...(out.services ?? []).filter((s) => s.status !== 'INACTIVE'));
  }
  return found;
};

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
