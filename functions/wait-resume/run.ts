import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import { checkWaits, resumeWait, serviceResourceKey, snapshotResourceKey } from '../shared/waits.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'rds' | 'sfn' | 'now'>;

/** Which waits an event is about: `service/<cluster>/<service>` from the ARN, or the snapshot id. */
export const resourceKeyOf = (event: Input): string => {
  if (event.source === 'aws.ecs') {
    const [, cluster, service] = (event.resources[0] as string).split(':').at(-1)?.split('/') ?? [];
    return serviceResourceKey(cluster as string, service as string);
  }
  return snapshotResourceKey(event.detail.SourceIdentifier);
};

/**
 * An event is a hint, never the truth: the waits it names are re-checked against AWS, and resumed
 * only when the condition holds (or has definitely failed).
 */
export const run = async (event: Input, deps: Deps): Promise<Output> => {
  const resourceKey = resourceKeyOf(event);
  const waits = await deps.store.pendingWaitsFor(resourceKey);
  if (waits.length === 0) {
    logger.info('no pending wait for event', { resourceKey, eventId: event.id });
    return { resourceKey, pending: 0, resumed: 0 };
  }
  const checks = await checkWaits(waits, deps);
  let resumed = 0;
  for (const wait of waits) {
    const check = checks.get(wait.waitId);
    if (check && (await resumeWait(wait, check, deps))) resumed++;
  }
  return { resourceKey, pending: waits.length - resumed, resumed };
};
