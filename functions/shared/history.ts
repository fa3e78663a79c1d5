/** Reading a target's release history (newest first, `Store.releasesForTarget`). */
import type { ReleaseRecord } from './store.ts';
import { Outcome, ReleaseKind } from './vocabulary.ts';

/** The rollback that rolled `releaseId` back (ended RolledBack naming it in `rollbackOf`), if any. */
export const rolledBackBy = (history: ReleaseRecord[], releaseId: string): ReleaseRecord | undefined =>
  history.find(
    (r) => r.kind === ReleaseKind.Rollback && r.rollbackOf === releaseId && r.outcome === Outcome.RolledBack,
  );
