/**
 * Turns at ECS RegisterTaskDefinition, shared by every release in the account.
 *
 * ECS admits RegisterTaskDefinition from a bucket of 20 calls refilled at one a second, per account
 * and Region (docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html, "Request
 * token bucket sizes and refill rates", read 2026-11-23). Each release registers one revision, so at
 * a platform-wide rebuild a thousand deploys reach it at once. Polling it (throttled past the SDK's
 * retries, the step fails and Step Functions runs it again later) cost 18 throttled registrations
 * and 15 runs of the deploy per release in `bench/scale.ts`, and left nothing of the bucket to the
 * account's other callers. Instead, each registration has a turn on one schedule, one turn a
 * second, and the state machine waits for it in a Wait state: no Lambda runs, and no call is made,
 * until the turn comes. Validate takes a release's turns (its own and its members') before it reads
 * anything, so a rebuild's releases go through validation at the pace they can register, instead of
 * a thousand validations reading ECS and ELBv2 at once; the deploy steps then find their turns
 * recorded. A step that finds none (a retried release record, a test) takes its own.
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
 * Takes `count` turns in a row (or keeps the first of them, `recorded`): when the first is, and when
 * a step may go ahead (`waitUntil`: undefined for now, else a Wait state's timestamp, whole seconds).
 */
export const takeTurns = async (
  deps: Pick<ReleaseDeps, 'store' | 'now'>,
  recorded: string | undefined,
  count = 1,
): Promise<{ turnAt: number; waitUntil: string | undefined }> => {
  const now = deps.now().getTime();
  const turnAt = recorded
    ? Date.parse(recorded)
    : await deps.store.nextTurn(REGISTRATION_SCHEDULE, now, count * INTERVAL_MS);
  const goAt = Math.ceil((turnAt - EARLY_MS) / 1000) * 1000;
  return {
    turnAt,
    waitUntil: goAt <= now ? undefined : new Date(goAt).toISOString().replace(/\.000Z$/, 'Z'),
  };
};

/**
 * When a registration may go ahead: undefined for now, else the time to wait until. Takes a turn
 * unless one is `recorded`; one that has to wait is recorded (`record`), so the run after the wait
 * keeps its place instead of queueing again.
 */
export const registrationWait = async (
  deps: Pick<ReleaseDeps, 'store' | 'now'>,
  turn: { recorded: string | undefined; record: (turnAt: string) => Promise<unknown> },
): Promise<string | undefined> => {
  const { turnAt, waitUntil } = await takeTurns(deps, turn.recorded);
  if (waitUntil && !turn.recorded) await turn.record(new Date(turnAt).toISOString());
  return waitUntil;
};

/** The turns of the release's registrations, one a second from its first: its own, then each member's. */
export const releaseTurns = (turnAt: number, members: readonly string[]) => ({
  registrationTurnAt: new Date(turnAt).toISOString(),
  ...(members.length > 0
    ? {
        memberRegistrationTurns: Object.fromEntries(
          members.map((m, i) => [m, new Date(turnAt + (i + 1) * INTERVAL_MS).toISOString()]),
        ),
      }
    : {}),
});

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
