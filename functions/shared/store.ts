/**
 * Switchyard's DynamoDB records: target locks (with the queue), release records (the audit trail)
 * and pending waits. Every state change is a conditional write, so concurrent steps, retries and
 * duplicated events cannot both win.
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CheckResult } from './analysis/judge.ts';
import { TransientError } from './errors.ts';
import type { MemberPlan } from './group.ts';
import type { Compatibility, Figures, HookPoint, ThresholdResult } from './hooks.ts';
import type { PromotionEvidence, Soak } from './promotion.ts';
import type {
  Colour,
  Outcome,
  ReleaseKind,
  ReleaseStatus,
  RollbackPath,
  TriggerSource,
  WaitKind,
  WaitStatus,
} from './vocabulary.ts';

export interface Tables {
  locks: string;
  releases: string;
  waits: string;
  approvals: string;
}

export interface ImageRef {
  repository: string;
  tag: string;
  digest: string;
}

export interface Trigger {
  source: TriggerSource;
  /** EventBridge event id, for ECR pushes. */
  eventId?: string | undefined;
  /** Who asked, for manual starts. */
  by?: string | undefined;
  /** Why it was asked for (a requested release's reason). */
  reason?: string | undefined;
  /** When the image was pushed or the start was asked for (ISO-8601): orders the queue. */
  at: string;
}

export interface Phase {
  name: string;
  startedAt: string;
  endedAt: string;
  status: 'succeeded' | 'failed';
  detail?: string | undefined;
}

/** A phase that is a moment, not a span (a vote, a break-glass, a late decision): it starts as it ends. */
export const momentPhase = (name: string, at: Date, status: Phase['status'], detail: string): Phase => ({
  name,
  startedAt: at.toISOString(),
  endedAt: at.toISOString(),
  status,
  detail,
});

export interface ReleaseRecord {
  releaseId: string;
  /** Absent on records written before rollbacks existed: a release. */
  kind?: ReleaseKind;
  target: string;
  environment: string;
  /** The image released (releases only). */
  image?: ImageRef;
  trigger: Trigger;
  executionArn: string;
  status: ReleaseStatus;
  createdAt: string;
  updatedAt: string;
  phases: Phase[];
  fromColour?: Colour;
  toColour?: Colour;
  previousTaskDefinitionArn?: string;
  taskDefinitionArn?: string;
  /**
   * The release's new revision, recorded as soon as it is registered: before its preDeploy hooks ran
   * it (register-revision), or by the deploy. Every later run of either uses this one rather than
   * registering another (shared/revision.ts recordRevision: the first record wins).
   */
  revisionArn?: string;
  /**
   * The release's turns (registration-turns.ts), taken and recorded by Validate before it reads
   * anything, so that a step run again keeps its place: its turn at RegisterTaskDefinition for its
   * revision (DeployInactiveColour, or RegisterRevision before preDeploy hooks)...
   */
  registrationTurnAt?: string;
  /** ...its turn to be validated... */
  validationTurnAt?: string;
  /** ...and each group member's turn to register (by member name), one a second after its own. */
  memberRegistrationTurns?: Record<string, string>;
  snapshotId?: string;
  /** Switchyard's older snapshots of this target deleted after this release (database.keepSnapshots). */
  prunedSnapshots?: string[];
  outcome?: Outcome;
  error?: { Error: string; Cause: string };
  supersededBy?: string;
  /** A retry of the same image (attempts.ts): its attempt number (> 1) and the attempt before it. */
  attempt?: number;
  retryOf?: string;
  /** Rollbacks: why, and the release rolled back. */
  reason?: string;
  rollbackOf?: string;
  rollbackPath?: RollbackPath;
  /**
   * Rollbacks of a group: members a failed rollback of the release had already put back, which this
   * one leaves as they are, each with what is left for a person (a release colour still running).
   * The outcome's notice carries them.
   */
  alreadyBack?: string[];
  /** Set on a running release when a rollback asked it to stop. */
  abortRequestedBy?: string;
  /** When the outcome was announced (Notify, or the recovery for an execution that ended before it). */
  announcedAt?: string;
  /** The outcome notice as sent: its subject and text, and the channels it reached or missed. */
  notice?: { subject: string; text: string; delivered: string[]; failed: string[] };
  /** Set by the recovery of an execution that ended without finishing, before it acts (halt.ts). */
  haltedBy?: string;
  /** When the recovery first found it ended: how long it may wait for a colour to come back. */
  haltedAt?: string;
  /** When the recovery first had to wait (status Recovering): announced once, from then. */
  recoveringSince?: string;
  /** Notifications (any channel) that could not be delivered. */
  notificationFailures?: number;
  /** When a rollback read the old colour's weights back at 100%. */
  trafficRestoredAt?: string;
  /**
   * When ScaleDownOldColour, the warm bake passed, had scaled the old colour down: the release had
   * promoted (the recovery reads this, not the old colour's count, which ECS may not show yet).
   */
  oldColourScaledDownAt?: string;
  /** The new colour's percent after the last verified SetWeight. */
  trafficPercent?: number;
  /** The release's approval request, while and after it waits for one. */
  approvalId?: string;
  endedAt?: string;
  /** What each hook that ran did, in the order they ran (record-hook). */
  hooks?: HookResult[];
  /** Set once a migration hook succeeded: what it left the old version able to do. */
  migrated?: Compatibility;
  /** Hook tasks of earlier releases this one waited for (shared/migrations.ts): re-read until STOPPED. */
  awaitedHookTasks?: string[];
  /** Rollbacks: the operator forced it past a breaking migration (after restoring the snapshot). */
  force?: boolean;
  /** A release carrying its own task definition: as given (image pinned at deploy), and what it changes. */
  taskDefinitionRequest?: Record<string, unknown>;
  changes?: string[];
  /** A release group's members as Validate planned them (the recovery puts them back from this). */
  members?: MemberPlan[];
  /** A Promoted release of a target others are promoted from: its soak and the verdict (promotion.ts). */
  soak?: Soak;
  /** A release of a target promoted from another: the upstream evidence the gate accepted. */
  promotion?: PromotionEvidence;
  /** Each bake's analysis at its end (AnalyseBake): every check's value, baseline, statistic, verdict. */
  analysis?: AnalysisRecord[];
}

export interface AnalysisRecord {
  step: number;
  percent: number;
  from: string;
  to: string;
  results: CheckResult[];
}

/** One hook's run, as the release record, the notifications and `switchyard describe` show it. */
export interface HookResult {
  name: string;
  point: HookPoint;
  taskArn?: string;
  /** A Lambda hook's function (name or ARN, as configured). */
  functionName?: string;
  startedAt?: string;
  stoppedAt?: string;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  logStream?: string;
  logUrl?: string;
  /** The last lines of its log (at most 5). */
  logTail?: string[];
  figures?: Figures;
  thresholds?: ThresholdResult[];
  migration?: Compatibility;
  status: 'succeeded' | 'failed';
  detail: string;
}

export interface QueueEntry {
  releaseId: string;
  /** A queued rollback is never displaced by a release. */
  kind?: ReleaseKind;
  executionArn: string;
  taskToken: string;
  pushedAt: string;
}

/**
 * A task-token answer the lock owes a parked execution, written in the same conditional write that
 * made it owed, and cleared once delivered. Until then any AcquireLock, ReleaseLock or reconciler
 * run delivers it again, so a crash between the write and the SendTask* call delays it by at most
 * one reconciler period (see lock-signals.ts).
 */
export interface LockSignal {
  releaseId: string;
  taskToken: string;
  /** A resume: the release whose ReleaseLock handed the lock over. */
  after?: string;
  /** A failure: the error name the parked AcquireLock fails with, and why. */
  error?: string;
  cause?: string;
}

export interface LockRecord {
  target: string;
  owner: string;
  ownerExecutionArn: string;
  acquiredAt: string;
  leaseExpiresAt: string;
  queued?: QueueEntry;
  /** The new owner's AcquireLock token, until it is resumed. */
  resume?: LockSignal;
  /** The release displaced from the queue slot, until its AcquireLock token is failed. */
  displaced?: LockSignal;
}

export interface WaitRecord {
  /** What the wait is about, e.g. `ecs-service#<cluster>/<service>`; events look waits up by it. */
  resourceKey: string;
  waitId: string;
  kind: WaitKind;
  releaseId: string;
  taskToken: string;
  status: WaitStatus;
  createdAt: string;
  /** Kind-specific: what must be true to resume. */
  condition: Record<string, unknown>;
  /** Epoch seconds; DynamoDB TTL removes old waits. */
  expiresAt: number;
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error as Error | undefined)?.name === 'ConditionalCheckFailedException';

/** Runs a conditional write: true when it was applied, false when its condition did not hold. */
const conditionalWrite = async (write: Promise<unknown>): Promise<boolean> => {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

/** Lock lease: a release holding a lock longer than this is presumed dead (checked before stealing). */
export const LOCK_LEASE_SECONDS = 24 * 60 * 60;

/** Every item of a Query or Scan, page after page (each page at most 1 MB: DynamoDB reference). */
const allPages = async <T>(
  page: (
    start: Record<string, unknown> | undefined,
  ) => Promise<{ Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> }>,
): Promise<T[]> => {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await page(start);
    items.push(...((out.Items ?? []) as T[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
};

export type Store = ReturnType<typeof createStore>;

/** The releases-table key of who pushed an image (never a release id: those start with the target). */
const pushKey = (repository: string, digest: string) => `push#${repository}@${digest}`;

/** The releases-table key of a target's Lambda migration claim (no `target`: no history query sees it). */
const migrationKey = (target: string) => `migration#${target}`;

/**
 * A Lambda migration that may still be running: written before the function is invoked, and ended
 * when it answered. Lambda lists no running invocation, so this claim is the only way to know.
 */
export interface LambdaMigrationClaim {
  target: string;
  /** The release whose migration it is. */
  owner: string;
  hook: string;
  functionName: string;
  /** When StartLambdaHook claimed it, just before the invoke. */
  startedAt: string;
  /** Until when the function may run (the Invoke state's retries, then Lambda's 900 s), or when it ended. */
  runsUntil: string;
}

/** Fields a conditional `updateRelease` may require absent (`unlessSet`). */
type UnlessSet = 'outcome' | 'announcedAt' | 'revisionArn' | 'recoveringSince';

export const createStore = (
  doc: DynamoDBDocumentClient,
  tables: Tables,
  now: () => Date = () => new Date(),
) => {
  const iso = () => now().toISOString();
  /** The lock's owner fields, set when a release takes, steals or is handed the lock. */
  const ownership = '#owner = :me, ownerExecutionArn = :exec, acquiredAt = :at, leaseExpiresAt = :lease';
  /** Who holds the claim on a service (service-claims.ts) and until when, if anyone does. */
  const readClaim = async (service: string): Promise<{ holder: string; untilMs: number } | undefined> => {
    const out = await doc.send(
      new GetCommand({
        TableName: tables.releases,
        Key: { releaseId: `claim#${service}` },
        ConsistentRead: true,
      }),
    );
    return out.Item?.holder === undefined
      ? undefined
      : { holder: String(out.Item.holder), untilMs: Number(out.Item.claimedUntil) };
  };
  const ownedBy = (releaseId: string, executionArn: string) => {
    const at = now();
    return {
      ':me': releaseId,
      ':exec': executionArn,
      ':at': at.toISOString(),
      ':lease': new Date(at.getTime() + LOCK_LEASE_SECONDS * 1000).toISOString(),
    };
  };

  return {
    // --- releases ---------------------------------------------------------------------------

    /** Creates the release record once; a retry or duplicate start finds it and returns it. */
    async createRelease(
      record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt' | 'phases' | 'status'>,
    ): Promise<ReleaseRecord> {
      const at = iso();
      const item: ReleaseRecord = { ...record, status: 'Queued', createdAt: at, updatedAt: at, phases: [] };
      try {
        await doc.send(
          new PutCommand({
            TableName: tables.releases,
            Item: item,
            ConditionExpression: 'attribute_not_exists(releaseId)',
          }),
        );
        return item;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const existing = await this.getRelease(record.releaseId);
        if (!existing) throw error;
        return existing;
      }
    },

    /**
     * Who pushed an image, as CloudTrail named them (record-pusher). Kept in the releases table
     * under `push#<repository>@<digest>`, with no `target` (so no history query sees it), for 30
     * days. Every pusher of the digest is kept (a set): a later PutImage of the same digest (a
     * retag) adds its pusher, never replaces the first.
     */
    async recordPush(push: { repository: string; digest: string; tag?: string; by: string; at: string }) {
      await doc.send(
        new UpdateCommand({
          TableName: tables.releases,
          Key: { releaseId: pushKey(push.repository, push.digest) },
          UpdateExpression:
            'ADD pushers :by SET kind = :kind, repository = :repository, digest = :digest, expiresAt = :expires',
          ExpressionAttributeValues: {
            ':by': new Set([push.by]),
            ':kind': 'push',
            ':repository': push.repository,
            ':digest': push.digest,
            ':expires': Math.floor(Date.parse(push.at) / 1000) + 30 * 24 * 3600,
          },
        }),
      );
    },

    /** `target`'s Lambda migration claim, if one was ever written (it may have ended: see runsUntil). */
    async lambdaMigration(target: string): Promise<LambdaMigrationClaim | undefined> {
      const out = await doc.send(
        new GetCommand({
          TableName: tables.releases,
          Key: { releaseId: migrationKey(target) },
          ConsistentRead: true,
        }),
      );
      // Stored as `claimOf`, not `target`: the byTarget index (release history) must not list it.
      const item = out.Item as (Omit<LambdaMigrationClaim, 'target'> & { claimOf: string }) | undefined;
      if (!item) return undefined;
      const { owner, hook, functionName, startedAt, runsUntil } = item;
      return { target: item.claimOf, owner, hook, functionName, startedAt, runsUntil };
    },

    /**
     * Claims `target`'s Lambda migration for `claim.owner`, unless another release's may still run
     * (its `runsUntil` is later than now): then that claim is returned and nothing is written. A
     * conditional write, so two releases can never both hold it.
     */
    async claimLambdaMigration(claim: LambdaMigrationClaim): Promise<LambdaMigrationClaim | undefined> {
      const claimed = await conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key: { releaseId: migrationKey(claim.target) },
            UpdateExpression:
              'SET #target = :target, #owner = :owner, hook = :hook, functionName = :fn, startedAt = :started, runsUntil = :until, updatedAt = :now',
            ConditionExpression: 'attribute_not_exists(releaseId) OR runsUntil <= :now OR #owner = :owner',
            ExpressionAttributeNames: { '#target': 'claimOf', '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':target': claim.target,
              ':owner': claim.owner,
              ':hook': claim.hook,
              ':fn': claim.functionName,
              ':started': claim.startedAt,
              ':until': claim.runsUntil,
              ':now': iso(),
            },
          }),
        ),
      );
      if (claimed) return undefined;
      return (await this.lambdaMigration(claim.target)) ?? claim;
    },

    /** The function answered: `owner`'s claim ends now (another release's is left alone). */
    async endLambdaMigration(target: string, owner: string): Promise<void> {
      await conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key: { releaseId: migrationKey(target) },
            UpdateExpression: 'SET runsUntil = :now, updatedAt = :now',
            ConditionExpression: '#owner = :owner AND runsUntil > :now',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner, ':now': iso() },
          }),
        ),
      );
    },

    /** Everyone CloudTrail has named as pushing `repository@digest`, so far (sorted; empty: unknown). */
    async pushersOf(repository: string, digest: string): Promise<string[]> {
      const out = await doc.send(
        new GetCommand({
          TableName: tables.releases,
          Key: { releaseId: pushKey(repository, digest) },
          ConsistentRead: true,
        }),
      );
      const pushers = (out.Item as { pushers?: Set<string> } | undefined)?.pushers;
      return pushers ? [...pushers].filter((p) => typeof p === 'string').sort() : [];
    },

    async getRelease(releaseId: string): Promise<ReleaseRecord | undefined> {
      const out = await doc.send(
        new GetCommand({ TableName: tables.releases, Key: { releaseId }, ConsistentRead: true }),
      );
      return out.Item as ReleaseRecord | undefined;
    },

    /**
     * Sets top-level fields of a release record (never `phases`, which only grows). With
     * `unlessSet`, only while that field is absent: false if it was set (someone got there first).
     */
    async updateRelease(
      releaseId: string,
      fields: Partial<Omit<ReleaseRecord, 'releaseId' | 'phases'>>,
      options: { unlessSet?: UnlessSet | UnlessSet[] } = {},
    ): Promise<boolean> {
      const unset = [options.unlessSet ?? []].flat();
      const entries = Object.entries({ ...fields, updatedAt: iso() }).filter(([, v]) => v !== undefined);
      const names = Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k]));
      const values = Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v]));
      const write = doc.send(
        new UpdateCommand({
          TableName: tables.releases,
          Key: { releaseId },
          UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
          ConditionExpression: [
            'attribute_exists(releaseId)',
            ...unset.map((f) => `attribute_not_exists(${f})`),
          ].join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      if (unset.length) return conditionalWrite(write);
      await write;
      return true;
    },

    /**
     * The next turn (epoch ms) of a schedule shared by every release, one turn every `intervalMs`:
     * the schedule's first free turn if it is now or later, else now. A turn is taken by an atomic
     * write on the schedule's item, never a read and a write: an idle schedule (the usual case, a
     * release alone) is restarted from now in one write; a busy one (a rebuild: a thousand releases
     * at once) gives each its next turn in a second write, with no retry on contention. Only a
     * schedule that fell idle between the two repeats them.
     */
    async nextTurn(schedule: string, nowMs: number, intervalMs: number): Promise<number> {
      const Key = { releaseId: schedule };
      for (let tries = 0; tries < 5; tries++) {
        const idle = doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key,
            UpdateExpression: 'SET nextTurnAt = :next',
            ConditionExpression: 'attribute_not_exists(nextTurnAt) OR nextTurnAt < :now',
            ExpressionAttributeValues: { ':next': nowMs + intervalMs, ':now': nowMs },
          }),
        );
        if (await conditionalWrite(idle)) return nowMs;
        try {
          const busy = await doc.send(
            new UpdateCommand({
              TableName: tables.releases,
              Key,
              UpdateExpression: 'SET nextTurnAt = nextTurnAt + :interval',
              ConditionExpression: 'nextTurnAt >= :now',
              ExpressionAttributeValues: { ':interval': intervalMs, ':now': nowMs },
              ReturnValues: 'UPDATED_NEW',
            }),
          );
          return (busy.Attributes?.nextTurnAt as number) - intervalMs;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
      throw new TransientError(`the ${schedule} schedule changed under every attempt to take a turn`);
    },

    /**
     * Claims a service for one release's change until `untilMs` (shared/service-claims.ts), under
     * this invocation's `token`: granted when nobody holds it, this release does (a retry takes it
     * over), or the holder's claim has run out. Refused, it answers the holder and until when.
     */
    async claimService(
      service: string,
      releaseId: string,
      token: string,
      nowMs: number,
      untilMs: number,
    ): Promise<{ holder: string; untilMs: number } | undefined> {
      const Key = { releaseId: `claim#${service}` };
      const granted = await conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key,
            UpdateExpression: 'SET holder = :me, claimToken = :token, claimedUntil = :until',
            ConditionExpression: 'attribute_not_exists(holder) OR holder = :me OR claimedUntil < :now',
            ExpressionAttributeValues: {
              ':me': releaseId,
              ':token': token,
              ':until': untilMs,
              ':now': nowMs,
            },
          }),
        ),
      );
      if (granted) return undefined;
      // Given up between the refused write and this read: still refused; the retry takes it.
      return (await readClaim(service)) ?? { holder: 'nobody now', untilMs: nowMs };
    },

    /** Who holds the claim on a service and until when (a consistent read), if anyone does. */
    serviceClaim: (service: string) => readClaim(service),

    /**
     * Whether this caller may send the account's warm-ups now (keep-warm.ts): one conditional write
     * on one item, granted to the first caller in each `everyMs`, so a thousand pushes at once send
     * one round of warm-ups, not a thousand; and to a caller whose largest group is bigger than the
     * round's (its per-member steps need more copies: at most ten rounds a minute, groups being at
     * most nine members).
     */
    async claimWarmUps(nowMs: number, everyMs: number, group: number): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key: { releaseId: 'warm-ups#' },
            UpdateExpression: 'SET sentAt = :now, sentGroup = :group',
            ConditionExpression:
              'attribute_not_exists(sentAt) OR sentAt <= :before OR attribute_not_exists(sentGroup) OR sentGroup < :group',
            ExpressionAttributeValues: { ':now': nowMs, ':before': nowMs - everyMs, ':group': group },
          }),
        ),
      );
    },

    /** Gives up the claim on a service taken under `token`, if that invocation still holds it. */
    async releaseService(service: string, token: string): Promise<void> {
      await conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key: { releaseId: `claim#${service}` },
            UpdateExpression: 'REMOVE holder, claimToken, claimedUntil',
            ConditionExpression: 'claimToken = :token',
            ExpressionAttributeValues: { ':token': token },
          }),
        ),
      );
    },

    /**
     * Records a soak's verdict once: false when another judge (a second reconciler tick) got there
     * first, so SoakCompleted is announced once per verdict.
     */
    async settleSoak(
      releaseId: string,
      verdict: { status: 'completed' | 'failed'; judgedAt: string; detail: string },
    ): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key: { releaseId },
            UpdateExpression:
              'SET soak.#st = :status, soak.judgedAt = :at, soak.detail = :detail, updatedAt = :now',
            ConditionExpression: 'soak.#st = :soaking',
            ExpressionAttributeNames: { '#st': 'status' },
            ExpressionAttributeValues: {
              ':status': verdict.status,
              ':at': verdict.judgedAt,
              ':detail': verdict.detail,
              ':soaking': 'soaking',
              ':now': iso(),
            },
          }),
        ),
      );
    },

    /** Queued → Running, once its AcquireLock has been resumed; never overwrites a later status. */
    async markRunning(releaseId: string): Promise<void> {
      await conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.releases,
            Key: { releaseId },
            UpdateExpression: 'SET #s = :running, updatedAt = :now',
            ConditionExpression: '#s = :queued',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':running': 'Running', ':queued': 'Queued', ':now': iso() },
          }),
        ),
      );
    },

    /** Adds to the release's count of notifications that could not be delivered. */
    async countNotificationFailures(releaseId: string, count: number): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: tables.releases,
          Key: { releaseId },
          UpdateExpression: 'ADD notificationFailures :n',
          ConditionExpression: 'attribute_exists(releaseId)',
          ExpressionAttributeValues: { ':n': count },
        }),
      );
    },

    /** Appends one bake's analysis (AnalyseBake; a retry appends it again, judged again). */
    async recordAnalysis(
      releaseId: string,
      replace: number | undefined,
      entry: AnalysisRecord,
    ): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: tables.releases,
          Key: { releaseId },
          UpdateExpression:
            replace === undefined
              ? 'SET analysis = list_append(if_not_exists(analysis, :empty), :entry), updatedAt = :now'
              : `SET analysis[${replace}] = :one, updatedAt = :now`,
          ConditionExpression: 'attribute_exists(releaseId)',
          ExpressionAttributeValues:
            replace === undefined
              ? { ':empty': [], ':entry': [entry], ':now': iso() }
              : { ':one': entry, ':now': iso() },
        }),
      );
    },

    /** Appends one phase (a step or a wait) to the release's audit trail. */
    async appendPhase(releaseId: string, phase: Phase): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: tables.releases,
          Key: { releaseId },
          UpdateExpression:
            'SET phases = list_append(if_not_exists(phases, :empty), :phase), updatedAt = :now',
          ConditionExpression: 'attribute_exists(releaseId)',
          ExpressionAttributeValues: { ':empty': [], ':phase': [phase], ':now': iso() },
        }),
      );
    },

    /** Every record of `target` created at or after `since` (ISO time), newest first, all pages. */
    async releasesSince(target: string, since: string): Promise<ReleaseRecord[]> {
      return allPages<ReleaseRecord>((start) =>
        doc.send(
          new QueryCommand({
            TableName: tables.releases,
            IndexName: 'byTarget',
            KeyConditionExpression: '#t = :t AND createdAt >= :since',
            ExpressionAttributeNames: { '#t': 'target' },
            ExpressionAttributeValues: { ':t': target, ':since': since },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
          }),
        ),
      );
    },

    /** Newest first. */
    async releasesForTarget(target: string, limit = 20): Promise<ReleaseRecord[]> {
      const out = await doc.send(
        new QueryCommand({
          TableName: tables.releases,
          IndexName: 'byTarget',
          KeyConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': 'target' },
          ExpressionAttributeValues: { ':t': target },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (out.Items ?? []) as ReleaseRecord[];
    },

    // --- locks ------------------------------------------------------------------------------

    /** Every held lock (one item per target with a release under way). */
    async allLocks(): Promise<LockRecord[]> {
      return allPages<LockRecord>((start) =>
        doc.send(new ScanCommand({ TableName: tables.locks, ExclusiveStartKey: start })),
      );
    },

    async getLock(target: string): Promise<LockRecord | undefined> {
      const out = await doc.send(
        new GetCommand({ TableName: tables.locks, Key: { target }, ConsistentRead: true }),
      );
      return out.Item as LockRecord | undefined;
    },

    /** Takes the lock if it is free or already ours. Returns false when someone else holds it. */
    async tryAcquire(target: string, releaseId: string, executionArn: string): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression: `SET ${ownership}`,
            ConditionExpression: 'attribute_not_exists(#owner) OR #owner = :me',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: ownedBy(releaseId, executionArn),
          }),
        ),
      );
    },

    /**
     * Puts `entry` in the target's single queue slot, replacing `replacing` (or an empty slot),
     * while `holder` still holds the lock, and records the failure the replaced entry is owed.
     * False when the lock or slot changed meanwhile.
     */
    async enqueue(
      target: string,
      holder: string,
      entry: QueueEntry,
      replacing?: string,
      displaced?: LockSignal,
    ): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression: displaced
              ? 'SET queued = :entry, displaced = :displaced'
              : 'SET queued = :entry',
            // An owed Superseded not yet sent is never overwritten by another (lock-signals.ts).
            ConditionExpression: `${
              replacing
                ? '#owner = :holder AND queued.releaseId = :old'
                : '#owner = :holder AND attribute_not_exists(queued)'
            }${displaced ? ' AND attribute_not_exists(displaced)' : ''}`,
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':entry': entry,
              ':holder': holder,
              ...(replacing ? { ':old': replacing } : {}),
              ...(displaced ? { ':displaced': displaced } : {}),
            },
          }),
        ),
      );
    },

    /**
     * Hands the lock from `owner` to the queued release, recording the resume it is owed. False if
     * `owner` no longer holds it.
     */
    async handOver(target: string, owner: string, next: QueueEntry, resume: LockSignal): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression: `SET ${ownership}, #resume = :resume REMOVE queued`,
            ConditionExpression: '#owner = :old AND queued.releaseId = :me',
            ExpressionAttributeNames: { '#owner': 'owner', '#resume': 'resume' },
            ExpressionAttributeValues: {
              ...ownedBy(next.releaseId, next.executionArn),
              ':old': owner,
              ':resume': resume,
            },
          }),
        ),
      );
    },

    /**
     * Takes the lock from an owner whose execution is gone, replacing its queue entry by the failure
     * that entry is owed (see acquire-lock). False when the lock changed meanwhile.
     */
    async steal(
      target: string,
      dead: string,
      me: Pick<QueueEntry, 'releaseId' | 'executionArn'>,
      displaced?: LockSignal,
    ): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression: `SET ${ownership}${displaced ? ', displaced = :displaced' : ''} REMOVE queued, #resume`,
            ConditionExpression: displaced
              ? '#owner = :old AND attribute_not_exists(displaced)'
              : '#owner = :old',
            ExpressionAttributeNames: { '#owner': 'owner', '#resume': 'resume' },
            ExpressionAttributeValues: {
              ...ownedBy(me.releaseId, me.executionArn),
              ':old': dead,
              ...(displaced ? { ':displaced': displaced } : {}),
            },
          }),
        ),
      );
    },

    /** Clears a delivered signal, if it is still the one for `releaseId`. */
    async clearLockSignal(target: string, field: 'resume' | 'displaced', releaseId: string): Promise<void> {
      await conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression: 'REMOVE #f',
            ConditionExpression: '#f.releaseId = :id',
            ExpressionAttributeNames: { '#f': field },
            ExpressionAttributeValues: { ':id': releaseId },
          }),
        ),
      );
    },

    /**
     * Moves the lease of `owner`'s lock to `untilMs`, if `owner` still holds it: a recovery that waits
     * keeps the target from being taken over as if its owner were gone. False otherwise.
     */
    async extendLease(target: string, owner: string, untilMs: number): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression: 'SET leaseExpiresAt = :lease',
            ConditionExpression: '#owner = :me AND leaseExpiresAt < :lease',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':me': owner, ':lease': new Date(untilMs).toISOString() },
          }),
        ),
      );
    },

    /** Frees the lock if `owner` holds it and nobody is queued. False otherwise. */
    async release(target: string, owner: string): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new DeleteCommand({
            TableName: tables.locks,
            Key: { target },
            ConditionExpression: '#owner = :me AND attribute_not_exists(queued)',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':me': owner },
          }),
        ),
      );
    },

    // --- waits ------------------------------------------------------------------------------

    async putWait(wait: WaitRecord): Promise<void> {
      await doc.send(new PutCommand({ TableName: tables.waits, Item: wait }));
    },

    async pendingWaitsFor(resourceKey: string): Promise<WaitRecord[]> {
      const out = await doc.send(
        new QueryCommand({
          TableName: tables.waits,
          KeyConditionExpression: 'resourceKey = :k',
          FilterExpression: '#s = :pending',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':k': resourceKey, ':pending': 'PENDING' },
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []) as WaitRecord[];
    },

    async allPendingWaits(): Promise<WaitRecord[]> {
      return allPages<WaitRecord>((start) =>
        doc.send(
          new ScanCommand({
            TableName: tables.waits,
            FilterExpression: '#s = :pending',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':pending': 'PENDING' },
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        ),
      );
    },

    /** PENDING → RESUMED; only the caller that wins this write may send the task token. */
    async claimWait(wait: Pick<WaitRecord, 'resourceKey' | 'waitId'>): Promise<boolean> {
      return conditionalWrite(
        doc.send(
          new UpdateCommand({
            TableName: tables.waits,
            Key: { resourceKey: wait.resourceKey, waitId: wait.waitId },
            UpdateExpression: 'SET #s = :resumed, resumedAt = :now',
            ConditionExpression: '#s = :pending',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':resumed': 'RESUMED', ':pending': 'PENDING', ':now': iso() },
          }),
        ),
      );
    },

    /** RESUMED → PENDING, when the token could not be sent after claiming. */
    async unclaimWait(wait: Pick<WaitRecord, 'resourceKey' | 'waitId'>): Promise<void> {
      await doc.send(
        new UpdateCommand({
          TableName: tables.waits,
          Key: { resourceKey: wait.resourceKey, waitId: wait.waitId },
          UpdateExpression: 'SET #s = :pending REMOVE resumedAt',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': 'PENDING' },
        }),
      );
    },
  };
};

/** Switchyard's tables' key schema: the local runtime (dynalite) and the CDK stack both build from it. */
export interface TableSchema {
  partitionKey: string;
  sortKey?: string;
  /** Global secondary index, projecting all attributes. */
  index?: { name: string; partitionKey: string; sortKey: string };
  /** Attribute holding the epoch-seconds expiry for DynamoDB TTL. */
  ttl?: string;
}

export const tableSchemas: Record<keyof Tables, TableSchema> = {
  locks: { partitionKey: 'target' },
  releases: {
    partitionKey: 'releaseId',
    index: { name: 'byTarget', partitionKey: 'target', sortKey: 'createdAt' },
    // Only push records carry it: release records stay.
    ttl: 'expiresAt',
  },
  waits: { partitionKey: 'resourceKey', sortKey: 'waitId', ttl: 'expiresAt' },
  approvals: { partitionKey: 'approvalId', ttl: 'expiresAt' },
};
