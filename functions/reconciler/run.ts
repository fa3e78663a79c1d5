import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import { checkWaits, resumeWait } from '../shared/waits.ts';
import type { Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'rds' | 'elbv2' | 'cloudwatch' | 'sfn' | 'now'>;

/**
 * ECS and RDS events are best effort: periodically re-check every pending wait with batched
 * Describe calls and resume what is done, so a lost event costs one period, not the wait's timeout.
 */
export const run = async (deps: Deps): Promise<Output> => {
  const waits = await deps.store.allPendingWaits();
  if (waits.length === 0) return { checked: 0, resumed: 0 };
  // A throttled batch waits for the next round; the others are still checked now.
  const checks = await checkWaits(waits, deps, {
    onTransientError: (what, error) =>
      logger.warn('reconciler skipped a batch', { what, error: (error as Error).message }),
  });
  let resumed = 0;
  for (const wait of waits) {
    const check = checks.get(wait.waitId);
    if (check && (await resumeWait(wait, check, deps))) resumed++;
  }
  return { checked: waits.length, resumed };
};
