/**
 * Why a release must not move anything any more, if it must not: a rollback asked it to stop
 * (`abortRequestedBy`), or its execution ended and the recovery took over (`haltedBy`). A Lambda
 * invocation already running when an execution stops is not stopped by AWS; the steps that change
 * traffic or services read this before and after their change (a fence), and the recovery writes
 * `haltedBy` before it reads anything, so either the step sees the halt and undoes its change, or
 * its change landed before the recovery read the world and the recovery undoes it.
 */
import type { ReleaseRecord } from './store.ts';

export const haltReason = (record: ReleaseRecord | undefined): string | undefined => {
  if (record?.abortRequestedBy) return `rollback ${record.abortRequestedBy} was requested`;
  if (record?.haltedBy === 'clean-up') return 'it is being cleaned up (it stopped before traffic moved)';
  if (record?.haltedBy) return `its execution ended (${record.haltedBy}) and the recovery took over`;
  return undefined;
};
