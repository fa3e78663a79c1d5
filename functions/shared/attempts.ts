/**
 * Which attempt a request to release an image is. An image's first attempt on a target is named
 * `<target>-<12 hex of the digest>` (releaseIdFor), attempt n > 1 `<that>-r<n>`: execution names
 * stay deterministic, so a redelivered event or a second click starts nothing twice. After an
 * attempt ended without the image live (Aborted, RolledBack, RollbackFailed, Superseded; or
 * Promoted and later rolled back), a new request (a new push or tag of the digest, a manual
 * release) starts the next attempt, linked to the one before; the old record is kept. A request
 * that repeats one already made (the same EventBridge event), or comes while an attempt runs, or
 * for an image that is live, starts nothing and says why.
 */
import type { ReleaseDeps } from './deps.ts';
import { executionArnOf, executionStatus } from './executions.ts';
import { rolledBackBy } from './history.ts';
import { releaseIdFor } from './requests.ts';
import { Outcome } from './vocabulary.ts';

type Deps = Pick<ReleaseDeps, 'sfn' | 'store'>;

export type Attempt =
  | { start: true; releaseId: string; attempt: number; retryOf?: { releaseId: string; outcome: string } }
  | {
      start: false;
      releaseId: string;
      reason: 'running' | 'duplicate event' | 'live' | 'too many attempts';
      detail: string;
    };

/** A target's image is not retried without end: after this many attempts, a person must look. */
export const MAX_ATTEMPTS = 20;

export const attemptName = (target: string, digest: string, attempt: number, variant?: string) =>
  attempt === 1
    ? releaseIdFor(target, digest, variant)
    : `${releaseIdFor(target, digest, variant)}-r${attempt}`;

export const nextAttempt = async (
  deps: Deps,
  request: {
    stateMachineArn: string;
    target: string;
    digest: string;
    eventId?: string | undefined;
    /** A release with its own task definition: its key (task-definition.ts). */
    variant?: string;
  },
): Promise<Attempt> => {
  let previous: { releaseId: string; outcome: string } | undefined;
  for (let n = 1; n <= MAX_ATTEMPTS; n++) {
    const releaseId = attemptName(request.target, request.digest, n, request.variant);
    const status = await executionStatus(deps.sfn, executionArnOf(request.stateMachineArn, releaseId));
    const record = await deps.store.getRelease(releaseId);
    // Step Functions forgets a closed execution after 90 days; the record is kept: the name is free
    // only when neither knows it.
    if (status === 'UNKNOWN' && !record) {
      return { start: true, releaseId, attempt: n, ...(previous ? { retryOf: previous } : {}) };
    }
    if (request.eventId && record?.trigger.eventId === request.eventId) {
      return {
        start: false,
        releaseId,
        reason: 'duplicate event',
        detail: `event ${request.eventId} already started ${releaseId}`,
      };
    }
    if (status === 'RUNNING') {
      return {
        start: false,
        releaseId,
        reason: 'running',
        detail: `${releaseId} is releasing this image now`,
      };
    }
    if (!record) {
      // Ended before its first step wrote anything: nothing of it to keep.
      previous = { releaseId, outcome: `${status} before it began` };
      continue;
    }
    if (!record.outcome) {
      return {
        start: false,
        releaseId,
        reason: 'running',
        detail: `${releaseId} ended ${status}; its recovery is under way (at most two reconciler periods)`,
      };
    }
    // A task-definition release (a variant) is live only while no later release replaced it: the
    // same definition again after another one (FEATURE on, off, on) is a new release.
    const replaced =
      request.variant !== undefined && record.outcome === Outcome.Promoted
        ? await replacedBy(deps, record.target, releaseId)
        : undefined;
    if (
      record.outcome === Outcome.Promoted &&
      !replaced &&
      !(await rolledBack(deps, record.target, releaseId))
    ) {
      return {
        start: false,
        releaseId,
        reason: 'live',
        detail: `${releaseId} promoted this image; it is live`,
      };
    }
    previous = {
      releaseId,
      outcome:
        record.outcome === Outcome.Promoted
          ? replaced
            ? `Promoted, then replaced by ${replaced}`
            : 'Promoted, then rolled back'
          : record.outcome,
    };
  }
  return {
    start: false,
    releaseId: attemptName(request.target, request.digest, MAX_ATTEMPTS, request.variant),
    reason: 'too many attempts',
    detail: `this image was attempted ${MAX_ATTEMPTS} times on ${request.target}; push a new image`,
  };
};

/** The release Promoted on `target` after `releaseId`, if any (newest first in the history). */
const replacedBy = async (deps: Deps, target: string, releaseId: string): Promise<string | undefined> => {
  const history = await deps.store.releasesForTarget(target, 50);
  const latest = history.find((r) => (r.kind ?? 'release') === 'release' && r.outcome === Outcome.Promoted);
  return latest && latest.releaseId !== releaseId ? latest.releaseId : undefined;
};

const rolledBack = async (deps: Deps, target: string, releaseId: string): Promise<boolean> =>
  rolledBackBy(await deps.store.releasesForTarget(target, 50), releaseId) !== undefined;
