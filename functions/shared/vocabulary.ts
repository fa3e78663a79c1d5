/**
 * The words Switchyard uses, as `as const` objects with a union type of the same name.
 * Values are stored in DynamoDB and appear in the ASL, so they never change spelling.
 */

export const Colour = {
  /** One of the two ECS services of a target; which colour is live is read from listener weights. */
  blue: 'blue',
  /** The other ECS service of a target. */
  green: 'green',
} as const;
export type Colour = (typeof Colour)[keyof typeof Colour];

/** The colour that is not `colour`. */
export const otherColour = (colour: Colour): Colour => (colour === Colour.blue ? Colour.green : Colour.blue);

export const Outcome = {
  /** All traffic is on the new colour and the old colour was scaled down. */
  Promoted: 'Promoted',
  /** The release stopped before any traffic moved; the idle colour was scaled back to 0. */
  Aborted: 'Aborted',
  /** Traffic had moved and was put back on the old colour, verified. */
  RolledBack: 'RolledBack',
  /** A newer image for the same target replaced this one while it was queued. */
  Superseded: 'Superseded',
  /** Traffic had moved and putting it back failed: a person must look now. */
  RollbackFailed: 'RollbackFailed',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export const ReleaseStatus = {
  /** Waiting for the target's lock behind a running release. */
  Queued: 'Queued',
  /** Holds the lock and is moving. */
  Running: 'Running',
  /**
   * Its execution ended without finishing, and the recovery is waiting (for a step still changing a
   * service, or for the colour traffic must go back to) before it records the outcome.
   */
  Recovering: 'Recovering',
  ...Outcome,
} as const;
export type ReleaseStatus = (typeof ReleaseStatus)[keyof typeof ReleaseStatus];

export const WaitKind = {
  /** The ECS service's PRIMARY deployment runs the expected task definition with rolloutState COMPLETED. */
  ServiceStable: 'service-stable',
  /** The RDS snapshot (instance or cluster) has status `available`. */
  SnapshotAvailable: 'snapshot-available',
  /**
   * A traffic step's bake: fails at once when a watched alarm is in ALARM or the new colour's targets
   * turn unhealthy; otherwise the Task's own timeout (the bake length) moves the release on.
   */
  Bake: 'bake',
  /**
   * A step held back by a freeze window while the new colour already carries traffic: the weights
   * stay still, but the watch goes on as in a bake (an alarm or unhealthy targets fail it at once:
   * rollback). The Task's own timeout, the window's end, moves the release on to the held step.
   */
  Freeze: 'freeze',
  /**
   * A hook's one-off ECS task has stopped (lastStatus STOPPED): resumed by its Task State Change
   * event, re-checked with DescribeTasks. A postTraffic hook also fails at once on a watched alarm.
   */
  HookTask: 'hook-task',
  /**
   * Every task of a service scaled to 0 has STOPPED (not only left RUNNING: a STOPPING task's process
   * may still be working). A singleton's other colour starts only after this. Resumed by the tasks'
   * Task State Change (STOPPED), re-checked with ListTasks + DescribeTasks.
   */
  ServiceDrained: 'service-drained',
} as const;

/** Waits that watch traffic already on the new colour (bakes and freeze holds). */
export const watchesTraffic = (kind: WaitKind): boolean => kind === WaitKind.Bake || kind === WaitKind.Freeze;
export type WaitKind = (typeof WaitKind)[keyof typeof WaitKind];

export const WaitStatus = {
  /** Registered; the execution is parked on its task token. */
  Pending: 'PENDING',
  /** The condition held (or failed) and the token was sent; no one resumes it again. */
  Resumed: 'RESUMED',
} as const;
export type WaitStatus = (typeof WaitStatus)[keyof typeof WaitStatus];

export const Strategy = {
  /** One SetWeight from 100/0 to 0/100, verified by reading the rule back. */
  AllAtOnce: 'all-at-once',
  /** One small step (e.g. 10%), a bake watching alarms, then 100%. */
  Canary: 'canary',
  /** Equal steps (e.g. 10%, 20%, … 90%), a bake after each, then 100%. */
  Linear: 'linear',
} as const;
export type Strategy = (typeof Strategy)[keyof typeof Strategy];

export const TriggerSource = {
  /** An `ECR Image Action` PUSH event from EventBridge. */
  EcrPush: 'ecr-push',
  /** A person or a script called StartExecution through Switchyard. */
  Manual: 'manual',
  /** The upstream target's soak completed, and this target promotes automatically (promote). */
  Promotion: 'promotion',
  /** A `Switchyard Release Requested` event on Switchyard's bus (request-release). */
  Event: 'event',
} as const;
export type TriggerSource = (typeof TriggerSource)[keyof typeof TriggerSource];

export const ReleaseKind = {
  /** An image going to production through the release state machine. */
  Release: 'release',
  /** Traffic put back on the previous colour by the rollback state machine. */
  Rollback: 'rollback',
} as const;
export type ReleaseKind = (typeof ReleaseKind)[keyof typeof ReleaseKind];

export const IfRunning = {
  /** A rollback queues behind the running release and acts on what it leaves. */
  Wait: 'wait',
  /** A rollback asks the running release to stop: its current wait fails with RollbackRequested. */
  Abort: 'abort',
} as const;
export type IfRunning = (typeof IfRunning)[keyof typeof IfRunning];

/** How a rollback puts the previous version back. */
export const RollbackPath = {
  /** The previous colour still runs healthy tasks of the last good task definition: one weight change. */
  Fast: 'fast',
  /** The previous colour was scaled down: redeploy the last good task definition, check, then shift. */
  Slow: 'slow',
  /** Nothing to change: the aborted release already put traffic back. */
  None: 'none',
} as const;
export type RollbackPath = (typeof RollbackPath)[keyof typeof RollbackPath];
