/**
 * Execution inputs for the two state machines, built in one place for everything that starts them:
 * the start-release function (ECR pushes), the `switchyard` CLI and the local runtime.
 */

import type { BreakGlass } from './schemas.ts';
import type { StrategyConfig } from './strategy.ts';
import type { TaskDefinitionFile } from './task-definition.ts';
import { type IfRunning, IfRunning as IfRunningValues, TriggerSource } from './vocabulary.ts';

export interface ImageRef {
  repository: string;
  tag: string;
  digest: string;
}

/**
 * Release id = execution name: `<target>-<first 12 hex of the digest>`, so one image releases once;
 * a release carrying its own task definition adds `-c<8 hex of the definition>` (task-definition.ts).
 */
export const releaseIdFor = (target: string, digest: string, variant?: string) =>
  `${target}-${digest.slice('sha256:'.length, 'sha256:'.length + 12)}${variant ? `-c${variant}` : ''}`;

/** Rollback id = execution name: `<target>-rollback-<UTC time to the second>`. */
export const rollbackIdFor = (target: string, at: Date) =>
  `${target}-rollback-${at.toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase()}`;

export const releaseRequest = (options: {
  target: string;
  image: ImageRef;
  at: Date;
  trigger?: { source: TriggerSource; eventId?: string; by?: string; reason?: string };
  breakGlass?: BreakGlass;
  /** Overrides the target's strategy for this release. */
  strategy?: StrategyConfig;
  /** Which attempt of this image this is (attempts.ts); the first if not given. */
  attempt?: { releaseId: string; attempt: number; retryOf?: { releaseId: string } };
  /** A task definition of its own (task-definition.ts), deployed instead of the live one. */
  taskDefinition?: TaskDefinitionFile;
}) => {
  const releaseId = options.attempt?.releaseId ?? releaseIdFor(options.target, options.image.digest);
  return {
    name: releaseId,
    input: {
      releaseId,
      attempt: options.attempt?.attempt ?? 1,
      retryOf: options.attempt?.retryOf?.releaseId ?? null,
      target: options.target,
      image: options.image,
      trigger: { source: TriggerSource.Manual, ...options.trigger, at: options.at.toISOString() },
      ...(options.breakGlass ? { breakGlass: options.breakGlass } : {}),
      ...(options.strategy ? { strategy: options.strategy } : {}),
      ...(options.taskDefinition ? { taskDefinition: options.taskDefinition } : {}),
    },
  };
};

export const rollbackRequest = (options: {
  target: string;
  reason: string;
  by: string;
  at: Date;
  ifRunning?: IfRunning;
  /** Past a breaking migration: the operator restored the snapshot (plan-rollback refuses otherwise). */
  force?: boolean;
}) => {
  const releaseId = rollbackIdFor(options.target, options.at);
  return {
    name: releaseId,
    input: {
      releaseId,
      target: options.target,
      reason: options.reason,
      ifRunning: options.ifRunning ?? IfRunningValues.Abort,
      ...(options.force ? { force: true } : {}),
      trigger: { source: TriggerSource.Manual, by: options.by, at: options.at.toISOString() },
    },
  };
};
