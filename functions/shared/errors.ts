/**
 * Errors thrown by step functions. Each has a *literal* `name`: Step Functions matches the Lambda
 * error type (the error's name) against `ErrorEquals`, and minifiers rename classes.
 *
 * They are sorted by what the state machine does with them:
 * - retry: transient, the same call may succeed later;
 * - route: the release cannot go on, take the failure path (clean up or roll back);
 * - fail fast: the input is wrong, nothing to retry.
 */
export abstract class SwitchyardError extends Error {
  abstract override readonly name: string;
}

// --- retry -----------------------------------------------------------------------------------

/** An AWS call failed in a way that may pass on retry (throttling, 5xx, network). */
export class TransientError extends SwitchyardError {
  override readonly name = 'TransientError' as const;
}

/**
 * AWS throttled a call past the SDK's own retries: the account's API budget is spent (a
 * platform-wide rebuild pushing hundreds of images at once). Retried far longer than a
 * TransientError (the ASL's Throttled retrier, about 25 minutes): a busy account is no reason for
 * a release to fail, and RegisterTaskDefinition alone admits one call a second for the account.
 */
export class Throttled extends SwitchyardError {
  override readonly name = 'Throttled' as const;
}

/** ModifyRule/ModifyListener returned, but reading the rule back does not show the weights yet. */
export class WeightsNotApplied extends SwitchyardError {
  override readonly name = 'WeightsNotApplied' as const;
}

/**
 * The new colour's targets are still in their first ELB health checks (`initial`): not judged yet.
 * ELB needs healthy-threshold × interval to judge a target (150 s with its defaults), which can
 * outlast the service's own stability when a scale-up starts no new deployment.
 */
export class TargetsInitializing extends SwitchyardError {
  override readonly name = 'TargetsInitializing' as const;
}

/**
 * Fewer of the new colour's targets are registered than it runs tasks for, and none is failing:
 * ECS has not registered the tasks that replace ones still draining (a scale-up right after a
 * scale-down reads stable on the draining tasks). Retried for about four minutes, not
 * TargetsInitializing's twenty: a colour that never registers its targets must fail soon.
 */
export class TargetsNotRegistered extends SwitchyardError {
  override readonly name = 'TargetsNotRegistered' as const;
}

/**
 * A snapshot or a migration would start while an earlier release's migration of the same target may
 * still run (a hook task, or a Lambda function, left to finish when that release stopped): two
 * migrations at once could apply one change twice. Validate, RunHook and StartLambdaHook are tried
 * again each minute (the ASL's Retry), up to an hour (shared/migrations.ts).
 */
export class EarlierHookRunning extends SwitchyardError {
  override readonly name = 'EarlierHookRunning' as const;
}

// --- route -----------------------------------------------------------------------------------

/** A newer image for the same target took this release's place in the queue. */
export class Superseded extends SwitchyardError {
  override readonly name = 'Superseded' as const;
}

/** The idle colour's ECS deployment failed (circuit breaker) or stabilised on another task definition. */
export class DeploymentFailed extends SwitchyardError {
  override readonly name = 'DeploymentFailed' as const;
}

/** The RDS snapshot ended in a failed state. */
export class SnapshotFailed extends SwitchyardError {
  override readonly name = 'SnapshotFailed' as const;
}

/** The idle colour's targets or HTTP probes did not meet the target's health thresholds. */
export class HealthCheckFailed extends SwitchyardError {
  override readonly name = 'HealthCheckFailed' as const;
}

/**
 * A hook's task did not succeed: its essential container exited non-zero, it failed to start, it
 * outlived its timeout, or the figures it reported missed the hook's thresholds.
 */
export class HookFailed extends SwitchyardError {
  override readonly name = 'HookFailed' as const;
}

/**
 * The release to roll back ran a breaking migration: the old version cannot run on the new schema
 * until the snapshot is restored. The operator restores it, then forces the rollback.
 */
export class RollbackNeedsRestore extends SwitchyardError {
  override readonly name = 'RollbackNeedsRestore' as const;
}

/** A watched CloudWatch alarm is in ALARM (re-checked with DescribeAlarms), or the new colour's targets turned unhealthy, during a bake. */
export class AlarmTriggered extends SwitchyardError {
  override readonly name = 'AlarmTriggered' as const;
}

/** An approver rejected the release (the reason is in the cause). */
export class ApprovalRejected extends SwitchyardError {
  override readonly name = 'ApprovalRejected' as const;
}

/** An operator's rollback asked this release to stop; it cleans up or rolls back as usual. */
export class RollbackRequested extends SwitchyardError {
  override readonly name = 'RollbackRequested' as const;
}

/** Putting traffic back on the old colour could not be verified. */
export class RollbackFailed extends SwitchyardError {
  override readonly name = 'RollbackFailed' as const;
}

// --- fail fast -------------------------------------------------------------------------------

/** The step's input, an event or a config does not match its schema. */
export class InvalidInput extends SwitchyardError {
  override readonly name = 'InvalidInput' as const;
}

/** No configured target has this name. */
export class TargetNotFound extends SwitchyardError {
  override readonly name = 'TargetNotFound' as const;
}

/** The image digest is not in the ECR repository. */
export class ImageNotFound extends SwitchyardError {
  override readonly name = 'ImageNotFound' as const;
}

/** A service, target group, listener or rule named by the target does not exist. */
export class ResourceNotFound extends SwitchyardError {
  override readonly name = 'ResourceNotFound' as const;
}

/** The listener weights are not 100/0 between the target's two target groups. */
export class TrafficSplit extends SwitchyardError {
  override readonly name = 'TrafficSplit' as const;
}

/** The target's lock is held (or queued for) by a rollback that this request must not displace. */
export class LockHeld extends SwitchyardError {
  override readonly name = 'LockHeld' as const;
}

/** No Promoted release put the live colour there, or it was already rolled back. */
export class NothingToRollBack extends SwitchyardError {
  override readonly name = 'NothingToRollBack' as const;
}

/** The live colour already runs this image digest: there is nothing to release. */
export class DigestAlreadyActive extends SwitchyardError {
  override readonly name = 'DigestAlreadyActive' as const;
}

/**
 * The target is promoted from another, and the image has not earned it there (promotion.ts): never
 * released, not Promoted, rolled back, still soaking, or failed its soak. Break-glass passes it.
 */
export class PromotionGateClosed extends SwitchyardError {
  override readonly name = 'PromotionGateClosed' as const;
}

/** An analysis check judged the new colour worse on real traffic (analysis/); rolls back like an alarm. */
export class AnalysisFailed extends SwitchyardError {
  override readonly name = 'AnalysisFailed' as const;
}

/**
 * An analysis check with `inconclusive: extend` has too little data at its bake's end: AnalyseBake
 * is tried again each minute (the ASL's Retry) with a longer window, up to 10 minutes.
 */
export class AnalysisInconclusive extends SwitchyardError {
  override readonly name = 'AnalysisInconclusive' as const;
}

/** Every error name the state machines may match, read from the classes so the list cannot drift. */
export const errorNames: readonly string[] = [
  TransientError,
  Throttled,
  WeightsNotApplied,
  TargetsInitializing,
  TargetsNotRegistered,
  EarlierHookRunning,
  Superseded,
  DeploymentFailed,
  SnapshotFailed,
  HealthCheckFailed,
  AlarmTriggered,
  AnalysisFailed,
  AnalysisInconclusive,
  HookFailed,
  RollbackNeedsRestore,
  ApprovalRejected,
  RollbackRequested,
  RollbackFailed,
  InvalidInput,
  TargetNotFound,
  ImageNotFound,
  ResourceNotFound,
  TrafficSplit,
  DigestAlreadyActive,
  PromotionGateClosed,
  LockHeld,
  NothingToRollBack,
].map((E) => new E().name);

/** AWS's throttling error names (its services differ). */
const throttlingNames = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

const transientNames = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'ServerException',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ETIMEDOUT',
]);

/** Whether another try later may pass: a TransientError or Throttled (what classifyError makes of AWS's). */
export const isRetryable = (error: unknown): boolean =>
  error instanceof TransientError || error instanceof Throttled;

/**
 * Turns an AWS SDK error that survived the SDK's own retries into a `TransientError` when another
 * try later may pass, so the ASL needs one retry name; other errors are returned unchanged.
 */
export const classifyError = (error: unknown): unknown => {
  if (!(error instanceof Error) || error instanceof SwitchyardError) return error;
  const meta = error as Error & { $fault?: string; $retryable?: unknown; code?: string };
  if (throttlingNames.has(error.name) || (meta.code !== undefined && throttlingNames.has(meta.code)))
    return new Throttled(`${error.name}: ${error.message}`, { cause: error });
  const transient =
    transientNames.has(error.name) ||
    (meta.code !== undefined && transientNames.has(meta.code)) ||
    meta.$fault === 'server' ||
    meta.$retryable !== undefined;
  if (!transient) return error;
  return new TransientError(`${error.name}: ${error.message}`, { cause: error });
};
