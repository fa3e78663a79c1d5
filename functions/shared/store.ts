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
  snapshotId?: string;
  /** Switchyard's older snapshots of this target deleted after this release (database.keepSnapshots). */
  prunedSnapshots?: string[];
  outcome?: Outcome;
  error?: { Error: string; Cause: string };
  supersededBy?: string;
  /** Rollbacks: why, and the release rolled back. */
  reason?: string;
  rollbackOf?: string;
  rollbackPath?: RollbackPath;
  /** Set on a running release when a rollback asked it to stop. */
  abortRequestedBy?: string;
  /** Notifications (any channel) that could not be delivered. */
  notificationFailures?: number;
  /** When a rollback read the old colour's weights back at 100%. */
  trafficRestoredAt?: string;
  /** The new colour's percent after the last verified SetWeight. */
  trafficPercent?: number;
  /** The release's approval request, while and after it waits for one. */
  approvalId?: string;
  endedAt?: string;
}

export interface QueueEntry {
  releaseId: string;
  /** A queued rollback is never displaced by a release. */
  kind?: ReleaseKind;
  executionArn: string;
  taskToken: string;
  pushedAt: string;
}

export interface LockRecord {
  target: string;
  owner: string;
  ownerExecutionArn: string;
  acquiredAt: string;
  leaseExpiresAt: string;
  queued?: QueueEntry;
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

/** Lock lease: a release holding a lock longer than this is presumed dead (checked before stealing). */
export const LOCK_LEASE_SECONDS = 24 * 60 * 60;

export type Store = ReturnType<typeof createStore>;

export const createStore = (
  doc: DynamoDBDocumentClient,
  tables: Tables,
  now: () => Date = () => new Date(),
) => {
  const iso = () => now().toISOString();

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

    async getRelease(releaseId: string): Promise<ReleaseRecord | undefined> {
      const out = await doc.send(
        new GetCommand({ TableName: tables.releases, Key: { releaseId }, ConsistentRead: true }),
      );
      return out.Item as ReleaseRecord | undefined;
    },

    /** Sets top-level fields of a release record (never `phases`, which only grows). */
    async updateRelease(
      releaseId: string,
      fields: Partial<Omit<ReleaseRecord, 'releaseId' | 'phases'>>,
    ): Promise<void> {
      const entries = Object.entries({ ...fields, updatedAt: iso() }).filter(([, v]) => v !== undefined);
      const names = Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k]));
      const values = Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v]));
      await doc.send(
        new UpdateCommand({
          TableName: tables.releases,
          Key: { releaseId },
          UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(releaseId)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
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
      const locks: LockRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(new ScanCommand({ TableName: tables.locks, ExclusiveStartKey: start }));
        locks.push(...((out.Items ?? []) as LockRecord[]));
        start = out.LastEvaluatedKey;
      } while (start);
      return locks;
    },

    async getLock(target: string): Promise<LockRecord | undefined> {
      const out = await doc.send(
        new GetCommand({ TableName: tables.locks, Key: { target }, ConsistentRead: true }),
      );
      return out.Item as LockRecord | undefined;
    },

    /**
     * Takes the lock if it is free, already ours, or (when `stealFrom` is given) still held by that
     * dead owner. Returns false when someone else holds it.
     */
    async tryAcquire(
      target: string,
      releaseId: string,
      executionArn: string,
      stealFrom?: string,
    ): Promise<boolean> {
      const at = now();
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression:
              'SET #owner = :me, ownerExecutionArn = :exec, acquiredAt = :at, leaseExpiresAt = :lease',
            ConditionExpression: stealFrom
              ? '#owner = :dead'
              : 'attribute_not_exists(#owner) OR #owner = :me',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':me': releaseId,
              ':exec': executionArn,
              ':at': at.toISOString(),
              ':lease': new Date(at.getTime() + LOCK_LEASE_SECONDS * 1000).toISOString(),
              ...(stealFrom ? { ':dead': stealFrom } : {}),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /**
     * Puts `entry` in the target's single queue slot, replacing `replacing` (or an empty slot),
     * while `holder` still holds the lock. False when the lock or slot changed meanwhile.
     */
    async enqueue(target: string, holder: string, entry: QueueEntry, replacing?: string): Promise<boolean> {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression: 'SET queued = :entry',
            ConditionExpression: replacing
              ? '#owner = :holder AND queued.releaseId = :old'
              : '#owner = :holder AND attribute_not_exists(queued)',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':entry': entry,
              ':holder': holder,
              ...(replacing ? { ':old': replacing } : {}),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** Hands the lock from `owner` to the queued release. False if `owner` no longer holds it. */
    async handOver(target: string, owner: string, next: QueueEntry): Promise<boolean> {
      const at = now();
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tables.locks,
            Key: { target },
            UpdateExpression:
              'SET #owner = :next, ownerExecutionArn = :exec, acquiredAt = :at, leaseExpiresAt = :lease REMOVE queued',
            ConditionExpression: '#owner = :me AND queued.releaseId = :next',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':me': owner,
              ':next': next.releaseId,
              ':exec': next.executionArn,
              ':at': at.toISOString(),
              ':lease': new Date(at.getTime() + LOCK_LEASE_SECONDS * 1000).toISOString(),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** Frees the lock if `owner` holds it and nobody is queued. False otherwise. */
    async release(target: string, owner: string): Promise<boolean> {
      try {
        await doc.send(
          new DeleteCommand({
            TableName: tables.locks,
            Key: { target },
            ConditionExpression: '#owner = :me AND attribute_not_exists(queued)',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':me': owner },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
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
      const items: WaitRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(
          new ScanCommand({
            TableName: tables.waits,
            FilterExpression: '#s = :pending',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':pending': 'PENDING' },
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        );
        items.push(...((out.Items ?? []) as WaitRecord[]));
        start = out.LastEvaluatedKey;
      } while (start);
      return items;
    },

    /** PENDING → RESUMED; only the caller that wins this write may send the task token. */
    async claimWait(wait: Pick<WaitRecord, 'resourceKey' | 'waitId'>): Promise<boolean> {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tables.waits,
            Key: { resourceKey: wait.resourceKey, waitId: wait.waitId },
            UpdateExpression: 'SET #s = :resumed, resumedAt = :now',
            ConditionExpression: '#s = :pending',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':resumed': 'RESUMED', ':pending': 'PENDING', ':now': iso() },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
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
  },
  waits: { partitionKey: 'resourceKey', sortKey: 'waitId', ttl: 'expiresAt' },
  approvals: { partitionKey: 'approvalId', ttl: 'expiresAt' },
};
