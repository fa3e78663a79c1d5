/**
 * Turns: how a platform-wide rebuild goes through the account's shared API budget without polling it.
 *
 * ECS admits RegisterTaskDefinition from a bucket of 20 calls refilled at one a second, per account
 * and Region (docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html, "Request
 * token bucket sizes and refill rates", read 2026-11-23). Each release registers one revision (and
 * one per group member), so at a rebuild a thousand deploys reach it at once. Polling it (throttled
 * past the SDK's retries, the step fails and Step Functions runs it again later) cost 18 throttled
 * registrations and 15 runs of the deploy per release in `bench/scale.ts`, and left nothing of the
 * bucket to the account's other callers. And a thousand validations read ECS and ELBv2 at once
 * (ELBv2 Describe* admits 10 a second, 40 at once): Validate ran 8 times per release.
 *
 * Instead each of those has a turn on a schedule shared by the account, and the state machine waits
 * for it in a Wait state: no Lambda runs and no call is made until the turn comes. Validate takes a
 * validation turn, and the release's registration turns (its revision's, then each member's, one a
 * second in a row) which it records; DeployInactiveColour, RegisterRevision and DeployMember go on
 * their recorded turn. A release with none recorded goes at once: a rollback (its state machine has
 * no Validate, and putting a service back comes before any release's pace) registers within the
 * half of the burst the turns leave free.
 */
import type { ReleaseDeps } from './deps.ts';
import type { ReleaseRecord } from './store.ts';

export interface Schedule {
  /** Its item in the releases table (no `target`: no history query sees it). */
  item: string;
  /** One turn every this many ms. */
  intervalMs: number;
  /** How many turns ahead a step may go at once. */
  earlyTurns: number;
}

/**
 * RegisterTaskDefinition at the bucket's rate, one a second. A step may go ten turns ahead, half the
 * bucket's burst: a few releases at once register at once, as they did before, and the other half
 * is left to the account's other callers (a pipeline, Terraform).
 */
export const REGISTRATIONS: Schedule = {
  item: 'turns#ecs:RegisterTaskDefinition',
  intervalMs: 1000,
  earlyTurns: 10,
};

/**
 * Validations, two a second (ten at once). A validation reads ELBv2 once or twice (the rule; target
 * groups it does not name) and ECS twice (the services, the live definition): two a second use at
 * most 4 of ELBv2's 10 reads a second, and leave the rest to the releases' later steps (health,
 * shifts, bakes). Faster than registrations, so the releases' snapshots (minutes each) start early
 * and are done by the time their turn to register comes.
 */
export const VALIDATIONS: Schedule = { item: 'turns#switchyard:Validate', intervalMs: 500, earlyTurns: 10 };

/** When a step whose turn is at `turnAt` may go: `earlyTurns` ahead, in whole seconds (a Wait state's timestamp). */
const goAt = (schedule: Schedule, turnAt: number) =>
  Math.ceil((turnAt - schedule.earlyTurns * schedule.intervalMs) / 1000) * 1000;

/** The Wait state's timestamp for `at`, or undefined when that is now or past. */
const waitFor = (at: number, now: number) =>
  at <= now ? undefined : new Date(at).toISOString().replace(/\.000Z$/, 'Z');

/**
 * Takes `count` turns in a row on `schedule` (or keeps the first of them, `recorded`): when the
 * first is (epoch ms), and when its step may go (`waitUntil`: undefined for now).
 */
export const takeTurns = async (
  deps: Pick<ReleaseDeps, 'store' | 'now'>,
  schedule: Schedule,
  recorded: string | undefined,
  count = 1,
): Promise<{ turnAt: number; waitUntil: string | undefined }> => {
  const now = deps.now().getTime();
  const turnAt = recorded
    ? Date.parse(recorded)
    : await deps.store.nextTurn(schedule.item, now, count * schedule.intervalMs);
  return { turnAt, waitUntil: waitFor(goAt(schedule, turnAt), now) };
};

/**
 * When a registration whose turn Validate recorded may go: undefined for now (or when none is
 * recorded: a rollback's), else the time to wait until.
 */
export const registrationWait = (deps: Pick<ReleaseDeps, 'now'>, recorded: string | undefined) =>
  recorded ? waitFor(goAt(REGISTRATIONS, Date.parse(recorded)), deps.now().getTime()) : undefined;

/** The turns of the release's registrations, one a second from its first: its own, then each member's. */
export const releaseTurns = (turnAt: number, members: readonly string[]) => ({
  registrationTurnAt: new Date(turnAt).toISOString(),
  ...(members.length > 0
    ? {
        memberRegistrationTurns: Object.fromEntries(
          members.map((m, i) => [m, new Date(turnAt + (i + 1) * REGISTRATIONS.intervalMs).toISOString()]),
        ),
      }
    : {}),
});

/**
 * The release's turns, taken once, before Validate reads anything: its turn to be validated, and its
 * registration turns (its revision's, then each member's). `taken`: what to record on the release
 * record at once, so a Validate run again (after its wait, or retried) keeps them rather than
 * queueing again. `waitUntil`: when Validate may go on (undefined: now).
 */
export const takeReleaseTurns = async (
  deps: Pick<ReleaseDeps, 'store' | 'now'>,
  release: Pick<ReleaseRecord, 'validationTurnAt' | 'registrationTurnAt'> | undefined,
  members: readonly string[],
): Promise<{ waitUntil: string | undefined; taken: Partial<ReleaseRecord> | undefined }> => {
  const [validation, registration] = await Promise.all([
    takeTurns(deps, VALIDATIONS, release?.validationTurnAt),
    release?.registrationTurnAt ? undefined : takeTurns(deps, REGISTRATIONS, undefined, 1 + members.length),
  ]);
  const taken = {
    ...(release?.validationTurnAt ? {} : { validationTurnAt: new Date(validation.turnAt).toISOString() }),
    ...(registration ? releaseTurns(registration.turnAt, members) : {}),
  };
  return { waitUntil: validation.waitUntil, taken: Object.keys(taken).length > 0 ? taken : undefined };
};

/** What a step answers while its turn is not yet due: the state machine waits, then runs it again. */
export const waitingForTurn = (
  waitUntil: string,
  who = '',
  what = 'register a task definition (ECS admits 1 a second per account)',
) => ({
  waitUntil,
  summary: `${who}waiting for its turn to ${what}: at ${waitUntil}`,
});

/** A step's answer while its turn is not yet due. */
export type WaitingForTurn = ReturnType<typeof waitingForTurn>;
