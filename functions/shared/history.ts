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
 * What a person does about a release that ended RollbackFailed with its new version still taking
 * traffic (it moved some, and none was put back): an ops rollback undoes it (plan-rollback takes it
 * as the release to undo). After a breaking migration the reason already says to restore first and
 * force.
 */
export const strandedAdvice = (record: ReleaseRecord, target: string): string | undefined =>
  (record.kind ?? ReleaseKind.Release) === ReleaseKind.Release &&
  record.migrated !== 'breaking' &&
  (record.trafficPercent ?? 0) > 0 &&
  !record.trafficRestoredAt
    ? `What to do: once ${record.fromColour ?? 'the old colour'} can serve again, \`switchyard rollback --target ${target}\` puts it back (it undoes ${record.releaseId}).`
    : undefined;
