/**
 * Which DynamoDB actions each function may use on which of Switchyard's tables: exactly what its
 * code calls (`functions/shared/store.ts`, `functions/shared/approvals.ts`), nothing wider. The IAM
 * tier checks every call of the local runs against these grants and reports a grant no call uses.
 * The internet-facing approval and Slack functions get their approval record and the release's
 * audit trail only: never the Locks or Waits tables (Waits holds every wait's task token).
 */
import type { FunctionFolder } from '../state-machines/definitions.ts';

export type TableName = 'locks' | 'releases' | 'waits' | 'approvals';
type Action = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'Scan';
/** `Query` on releases reads the byTarget index (release history). */
export type TableAccess = Partial<Record<TableName, Action[]>>;

/** Every release step records its phase, result or error on the release record. */
const recordsPhase: TableAccess = { releases: ['UpdateItem'] };
const readsAndRecords: TableAccess = { releases: ['GetItem', 'UpdateItem'] };

export const tableAccess: Record<FunctionFolder, TableAccess> = {
  // Takes or queues on the lock, creates the release record, and fails a running release's waits
  // (and cancels its pending approval) when a rollback asks it to stop.
  'acquire-lock': {
    // DeleteItem: freeing an expired lock on a gone owner's behalf when nobody is queued behind it.
    locks: ['GetItem', 'UpdateItem', 'DeleteItem'],
    releases: ['GetItem', 'PutItem', 'UpdateItem'],
    waits: ['Scan', 'UpdateItem'],
    approvals: ['GetItem', 'UpdateItem'],
  },
  // Query: the upstream's history, for the promotion gate (promotion.ts).
  // GetItem: the earlier releases' hook tasks it already waited for (shared/migrations.ts).
  validate: { releases: ['GetItem', 'UpdateItem', 'Query'] },
  'recheck-promotion-gate': { releases: ['UpdateItem', 'Query'] },
  // Records each bake's analysis (and its phase).
  'analyse-bake': readsAndRecords,
  'analyse-test-traffic': readsAndRecords,
  'backup-database': recordsPhase,
  'deploy-inactive-colour': readsAndRecords,
  // Records the revision it registered, so a retry and the deploy use that one.
  'register-revision': readsAndRecords,
  'check-health': recordsPhase,
  // Stores the approval; a retry re-arms the pending one with its new task token.
  'request-approval': { ...readsAndRecords, approvals: ['GetItem', 'PutItem', 'UpdateItem'] },
  // Reads the record before and after each weight change: a rollback's request stops it (the fence).
  'shift-traffic': readsAndRecords,
  'register-wait': { ...readsAndRecords, waits: ['PutItem', 'UpdateItem'] },
  // Reads the record before and after RunTask: a rollback's request stops the hook (the fence).
  'run-hook': readsAndRecords,
  // UpdateItem also claims the target's Lambda migration (a record of its own, shared/store.ts).
  'start-lambda-hook': readsAndRecords,
  // Adds the hook's result to the record's list (and `migrated` once a migration ran).
  'record-hook': readsAndRecords,
  // UpdateItem also ends the Lambda migration claim once the function answered.
  'record-lambda-hook': readsAndRecords,
  'wait-resume': { ...recordsPhase, waits: ['Query', 'UpdateItem'] },
  // Also recovers a target whose lock owner ended without finishing (see recover-execution).
  reconciler: {
    locks: ['Scan', 'GetItem', 'UpdateItem', 'DeleteItem'],
    // Query: the upstream targets' releases whose soak is due (soak.ts).
    releases: ['GetItem', 'UpdateItem', 'Query'],
    waits: ['Scan', 'UpdateItem'],
    // A running release's decision recorded but never confirmed by Step Functions: delivered.
    approvals: ['GetItem', 'UpdateItem'],
  },
  // Puts traffic back, records the outcome, frees or hands over the lock.
  'recover-execution': {
    locks: ['GetItem', 'UpdateItem', 'DeleteItem'],
    releases: ['GetItem', 'UpdateItem'],
    // Closes the ended execution's waits, and its approval if one was pending.
    waits: ['Scan', 'UpdateItem'],
    approvals: ['GetItem', 'UpdateItem'],
  },
  // Reads the record: a rollback's request keeps the old colour warm (halt.ts).
  'scale-down-old-colour': readsAndRecords,
  // A group member's steps read the release's halt marker and record their phase.
  'deploy-member': readsAndRecords,
  'stop-member': readsAndRecords,
  'start-member': readsAndRecords,
  // Closes the release's approval if it was not taken (conditional on the status it read). GetItem:
  // the holder of its service's claim, when the claim is refused (shared/service-claims.ts).
  'clean-up-inactive-colour': { ...readsAndRecords, approvals: ['GetItem', 'UpdateItem'] },
  'roll-back-traffic': readsAndRecords,
  // Reads the outcome already recorded when its own write finds one (a retry, or a recovery first).
  'record-outcome': readsAndRecords,
  'release-lock': { ...recordsPhase, locks: ['GetItem', 'UpdateItem', 'DeleteItem'] },
  notify: readsAndRecords,
  // Reads the previous attempts of a pushed image (attempts.ts); the history only for one that was
  // promoted, to see whether a rollback undid it.
  // UpdateItem: the once-a-minute claim on the account's warm-ups (keep-warm.ts).
  'start-release': { releases: ['GetItem', 'Query', 'UpdateItem'] },
  // Start releases as start-release does: from a soak completed upstream, or a requested release.
  promote: { releases: ['GetItem', 'Query'] },
  'request-release': { releases: ['GetItem', 'Query'] },
  'plan-rollback': { releases: ['GetItem', 'UpdateItem', 'Query'] },
  // Reads the target's history for the snapshots a rollback plan names; records what it deleted.
  'prune-snapshots': { releases: ['UpdateItem', 'Query'] },
  // GetItem on releases: who pushed the image (record-pusher), checked at every decision.
  approvals: { ...readsAndRecords, approvals: ['GetItem', 'UpdateItem'] },
  // Only checks and acknowledges a click: no table at all.
  'slack-interactions': {},
  'slack-decisions': { ...readsAndRecords, approvals: ['GetItem', 'UpdateItem'] },
  // Writes who pushed an image (from CloudTrail) under its push# key.
  'record-pusher': { releases: ['UpdateItem'] },
};
