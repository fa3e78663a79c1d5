import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import {
  bakeResourceKey,
  checkWaits,
  drainResourceKey,
  hookResourceKey,
  resumeWait,
  serviceResourceKey,
  snapshotResourceKey,
} from '../shared/waits.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'rds' | 'elbv2' | 'cloudwatch' | 'sfn' | 'now'>;

/**
 * Which waits an event is about: `service/<cluster>/<service>` from the ARN, the snapshot id, or
 * the bakes of every target that watches the alarm.
 */
export const resourceKeysOf = (event: Input, deps: Pick<Deps, 'targets'>): string[] => {
  switch (event.source) {
    case 'aws.ecs': {
      if (event['detail-type'] === 'ECS Task State Change') {
        // A hook's task: its group names the target (run-hook sets it).
        const target = event.detail.group?.match(/^switchyard:([a-z][a-z0-9-]*)$/)?.[1];
        if (target) return [hookResourceKey(target)];
        // A service's task (a singleton's colour draining): `service:<name>` in its cluster.
        const service = event.detail.group?.match(/^service:(.+)$/)?.[1];
        const cluster = event.detail.clusterArn?.split('/').at(-1);
        if (!service || !cluster) return [];
        // A group member's task stopping: a singleton draining, or a member failing during a bake.
        const owners = deps.targets.targets.filter((t) =>
          t.group.some((m) => m.services.blue === service || m.services.green === service),
        );
        return event.detail.lastStatus === 'RUNNING'
          ? [serviceResourceKey(cluster, service)]
          : [drainResourceKey(cluster, service), ...owners.map((t) => bakeResourceKey(t.name))];
      }
      const [, cluster, service] = (event.resources[0] as string).split(':').at(-1)?.split('/') ?? [];
      return [serviceResourceKey(cluster as string, service as string)];
    }
    case 'aws.rds':
      return [snapshotResourceKey(event.detail.SourceIdentifier)];
    case 'aws.cloudwatch':
      // Only a change *to* ALARM can end a bake early; OK and INSUFFICIENT_DATA leave it running.
      // A postTraffic hook runs with all traffic on the new colour: the alarm ends it too.
      if (event.detail.state.value !== 'ALARM') return [];
      return deps.targets.targets
        .filter((t) => t.alarms.includes(event.detail.alarmName))
        .flatMap((t) => [
          bakeResourceKey(t.name),
          ...(t.hooks.postTraffic.length ? [hookResourceKey(t.name)] : []),
        ]);
  }
};

/** A service's task that stopped: the bakes that can judge it re-read that task alone. */
const stoppedServiceTask = (event: Input) => {
  if (event['detail-type'] !== 'ECS Task State Change' || event.detail.lastStatus !== 'STOPPED') return {};
  const cluster = event.detail.clusterArn?.split('/').at(-1);
  if (!cluster || !event.detail.group?.startsWith('service:')) return {};
  return { stoppedTask: { cluster, taskArn: event.detail.taskArn } };
};

/**
 * An event is a hint, never the truth: the waits it names are re-checked against AWS, and resumed
 * only when the condition holds (or has definitely failed).
 */
export const run = async (event: Input, deps: Deps): Promise<Output> => {
  const resourceKeys = resourceKeysOf(event, deps);
  const waits = (await Promise.all(resourceKeys.map((key) => deps.store.pendingWaitsFor(key)))).flat();
  if (waits.length === 0) {
    logger.info('no pending wait for event', { resourceKeys, eventId: event.id });
    return { resourceKeys, pending: 0, resumed: 0 };
  }
  const checks = await checkWaits(waits, deps, {
    targetHealth: event.source !== 'aws.cloudwatch',
    ...stoppedServiceTask(event),
  });
  let resumed = 0;
  for (const wait of waits) {
    const check = checks.get(wait.waitId);
    if (check && (await resumeWait(wait, check, deps))) resumed++;
  }
  return { resourceKeys, pending: waits.length - resumed, resumed };
};
