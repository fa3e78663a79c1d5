/** Reading a target's release history (newest first, `Store.releasesForTarget`). */
import type { ReleaseRecord } from './store.ts';
import { Outcome, ReleaseKind } from './vocabulary.ts';

/** The rollback that rolled `releaseId` back (ended RolledBack naming it in `rollbackOf`), if any. */
export const rolledBackBy = (history: ReleaseRecord[], releaseId: string): ReleaseRecord | undefined =>
  history.find(
    (r) => r.kind === ReleaseKind.Rollback && r.rollbackOf === releaseId && r.outcome === Outcome.RolledBack,
  );

/**
 * A rollback that counts against `release` (newest first): one that names it, or one of its target
 * started after it and not yet planned (it rolls back whatever is live), whether it is still
 * running, put traffic back, or failed to. Only a rollback that ended Aborted (it moved nothing:
 * refused, or nothing to roll back) does not count.
 */
export const rollbackAgainst = (
  history: ReleaseRecord[],
  release: Pick<ReleaseRecord, 'releaseId' | 'createdAt'>,
): ReleaseRecord | undefined =>
  history.find(
    (r) =>
      r.kind === ReleaseKind.Rollback &&
      r.outcome !== Outcome.Aborted &&
      (r.rollbackOf === release.releaseId || (r.rollbackOf === undefined && r.createdAt > release.createdAt)),
  );

/**
 * The release a rollback undoes: the newest release (not a rollback) that may have left its new
 * version live, Promoted or RollbackFailed (its own rollback failed). Releases that went back are
 * passed over: RolledBack, Aborted, Superseded, and a RollbackFailed one that put its traffic back
 * itself (it failed after, on a group member or a scale-down; review of fb51c45). PlanRollback then
 * refuses one whose traffic is not on its new colour, or that a rollback already undid, rather than
 * reach past it to the release before; the CLI refuses early what a person can act on.
 */
export const releaseToUndo = (history: ReleaseRecord[]): ReleaseRecord | undefined =>
  history.find(
    (r) =>
      (r.kind ?? ReleaseKind.Release) === ReleaseKind.Release &&
      (r.outcome === Outcome.Promoted || (r.outcome === Outcome.RollbackFailed && !r.trafficRestoredAt)),
  );

/**
 * What a person does about a release that ended RollbackFailed with its new version still taking
 * traffic (`weights` read as it ended): an ops rollback undoes it (plan-rollback takes the newest
 * Promoted or RollbackFailed release as the one to undo). After a breaking migration the reason
 * already says to restore first and force.
 */
export const rollbackAdvice = (
  record: ReleaseRecord,
  target: string,
  weights: { blue: number; green: number } | undefined,
): string | undefined =>
  (record.kind ?? ReleaseKind.Release) === ReleaseKind.Release &&
  record.migrated !== 'breaking' &&
  record.fromColour &&
  record.toColour &&
  (weights?.[record.toColour] ?? 0) > 0
    ? `What to do: once ${record.fromColour} can serve again, \`switchyard rollback --target ${target}\` puts the traffic still on ${record.toColour} back on ${record.fromColour} and scales ${record.toColour} down (it undoes ${record.releaseId}; once no traffic is on ${record.toColour}, there is nothing of it to undo).`
    : undefined;
