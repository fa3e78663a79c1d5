/**
 * Turns at ECS RegisterTaskDefinition, shared by every release in the account.
 *
 * ECS admits RegisterTaskDefinition from a bucket of 20 calls refilled at one a second, per account
 * and Region (docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html, "Request
 * token bucket sizes and refill rates", read 2026-11-23). Each release registers one revision, so at
 * a platform-wide rebuild a thousand deploys reach it at once. Polling it (throttled past the SDK's
 * retries, the step fails and Step Functions runs it again later) cost 18 throttled registrations
 * and 15 runs of the deploy per release in `bench/scale.ts`, and left nothing of the bucket to the
 * account's other callers. Instead, each deploy takes the next turn on one schedule, one turn a
 * second, and the state machine waits for it in a Wait state: no Lambda runs, and no call is made,
 * until the turn comes.
 */
import type { ReleaseDeps } from './deps.ts';
import type { ReleaseRecord } from './store.ts';

/** The bucket as ECS publishes it. */
export const REGISTRATION_BUCKET = { burst: 20, perSecond: 1 } as const;

/** The schedule's item in the releases table (no `target`: no history query sees it). */
export const REGISTRATION_SCHEDULE = 'turns#ecs:RegisterTaskDefinition';

const INTERVAL_MS = 1000 / REGISTRATION_BUCKET.perSecond;

/**
 * How far ahead of its turn a deploy may register: half the bucket's burst. A few releases at once
 * register at once, as they did before, and the other half of the burst is left to the account's
 * other callers (a pipeline, Terraform).
 */
const EARLY_MS = (REGISTRATION_BUCKET.burst / 2) * INTERVAL_MS;

/**
 * When a registration may go ahead: undefined for now, else the time to wait until (ISO, whole
 * seconds, as a Wait state's timestamp). Takes a turn unless one is `recorded`; one that has to wait
 * is recorded (`record`), so the run after the wait keeps its place instead of queueing again.
 */
export const registrationWait = async (
  deps: Pick<ReleaseDeps, 'store' | 'now'>,
  turn: { recorded: string | undefined; record: (turnAt: string) => Promise<unknown> },
): Promise<string | undefined> => {
  const now = deps.now().getTime();
  const at = turn.recorded
    ? Date.parse(turn.recorded)
    : await deps.store.nextTurn(REGISTRATION_SCHEDULE, now, INTERVAL_MS);
  const goAt = Math.ceil((at - EARLY_MS) / 1000) * 1000;
  if (goAt <= now) return undefined;
  if (!turn.recorded) await turn.record(new Date(at).toISOString());
  return new Date(goAt).toISOString().replace(/\.000Z$/, 'Z');
};

/** The release's own registration (its revision): its turn kept on the release record. */
export const releaseTurn = (
  store: Pick<ReleaseDeps, 'store'>['store'],
  releaseId: string,
  release: Pick<ReleaseRecord, 'registrationTurnAt'>,
) => ({
  recorded: release.registrationTurnAt,
  record: (turnAt: string) => store.updateRelease(releaseId, { registrationTurnAt: turnAt }),
});

/** What a step answers while its turn is not yet due: the state machine waits, then runs it again. */
export const waitingForTurn = (waitUntil: string, who = '') => ({
  waitUntil,
  summary: `${who}waiting for its turn to register a task definition (ECS admits 1 a second per account): at ${waitUntil}`,
});
