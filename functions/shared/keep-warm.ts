/**
 * Keeps an environment of each release function warm while releases run (of the steps run for
 * each group member side by side, one per member of the largest group and one more).
 *
 * A release spends most of its time waiting: for a snapshot, a deployment, a bake. Lambda shuts an
 * idle environment down after some minutes (local/execution-environments.ts: AWS publishes no
 * figure; measured at 10 minutes or more), so each step after a long wait started cold: four to five
 * inits on the critical path of every release, 0.35 s each at the functions' memory (`npm run
 * bench`). The reconciler runs every minute; while any release waits it sends each function a
 * warm-up (warm-up.ts) through Lambda's asynchronous queue, so one environment of each stays no more
 * than a minute idle. start-release sends the same when a push starts releases (once a minute at
 * most, account-wide: keepWarmOnce), so the steps after the lock find their environments started.
 * It invokes them synchronously: a release's Validate runs about half a second after its push
 * starts it, and a queued warm-up's init started too late for that (the local model queues an
 * event 200 ms; AWS publishes no figure); a synchronous one starts its init at once.
 *
 * AWS does not promise that an invocation lands on an idle environment rather than a new one; in
 * practice one idle environment is reused. The price: 28 warm-ups a minute; while a three-member
 * group releases, 43 (the 20 per-member ones hold their environment 100 ms each), about 3.6
 * GB-seconds a minute, $0.0034 per hour of releasing at Arm prices, paid once however many releases
 * run at that time. `npm run bench` charges a single release with all of its half hour's.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { logger } from './logger.ts';
import type { Store } from './store.ts';
import { WARM_UP_EVENT, WARM_UP_HOLD_MS } from './warm-up.ts';

/**
 * `Event`: through Lambda's queue, answered 202 at once (the reconciler's, a minute ahead of need).
 * `RequestResponse`: run at once, answered when the warm-up returns (start-release's, needed now).
 */
export type WarmUpInvocation = 'Event' | 'RequestResponse';

export interface KeepWarmDeps {
  lambda: Pick<LambdaClient, 'send'>;
  /** The functions to keep warm, by name (env WARM_UP_FUNCTIONS, comma-separated). */
  warmUpFunctions: readonly string[];
}

/** The reconciler's: the functions it keeps warm between releases too (env WARM_ALWAYS_FUNCTIONS). */
export interface WarmAlwaysDeps {
  warmAlways: readonly string[];
}

/**
 * How often, with no release waiting, the reconciler warms a release's first functions: every
 * fourth minute. Lambda shuts an environment down after it idles some minutes (AWS publishes no
 * figure; measured at 10 or more; the local model says 5), so one warmed every 4 stays. A tick a
 * minute would cost four times the invocations for nothing.
 */
export const WARM_ALWAYS_EVERY_MINUTES = 4;

/**
 * A reconciler tick's round: the functions kept warm between releases (a release's first ones, each
 * as often as listed; every WARM_ALWAYS_EVERY_MINUTES by the tick's time), and, while releases wait
 * (`whileWaiting`), every release function as well, sized by the largest group waiting (a function
 * in both gets the more of the two), the first ones included. Asynchronous: minutes ahead of need.
 */
export const reconcilerWarmUps = (
  deps: KeepWarmDeps & WarmAlwaysDeps & { now: () => Date },
  whileWaiting: { largestGroup: number } | undefined,
): Promise<number> => {
  // The tick's minute, rounded: a scheduled invocation that starts a few seconds late (or early)
  // keeps its slot, where a floor could skip one and leave eight minutes between warm-ups (review).
  const minute = Math.round(deps.now().getTime() / 60_000);
  if (!whileWaiting && minute % WARM_ALWAYS_EVERY_MINUTES !== 0) return Promise.resolve(0);
  // As often as listed (no group caps them: a group's push may come at any moment).
  const copies = copiesFor(deps.warmAlways, Number.POSITIVE_INFINITY);
  if (whileWaiting)
    for (const [name, n] of copiesFor(deps.warmUpFunctions, whileWaiting.largestGroup + 1))
      copies.set(name, Math.max(n, copies.get(name) ?? 0));
  return sendWarmUps(deps.lambda, copies, 'Event');
};

/** How often start-release may send the account's warm-ups: once a minute, as the reconciler does. */
export const WARM_UP_EVERY_MS = 60_000;

/**
 * start-release's warm-ups: sent by the first start in each minute (a conditional write decides),
 * so a platform-wide rebuild's thousand pushes send one round, not a thousand that would take the
 * account's concurrency from the steps; and by a later start whose group needs more copies than
 * that round sent (found by review: a single-service push first left a group's steps cold). A
 * failed decision (throttled, say) sends none: a warm-up must never stand in a release's way.
 */
export const keepWarmOnce = async (
  deps: KeepWarmDeps & { store: Pick<Store, 'claimWarmUps'>; now: () => Date },
  largestGroup: number,
): Promise<number> => {
  try {
    if (!(await deps.store.claimWarmUps(deps.now().getTime(), WARM_UP_EVERY_MS, largestGroup))) return 0;
  } catch (error) {
    logger.warn('warm-ups skipped: could not claim them', { error: (error as Error).message });
    return 0;
  }
  return keepWarm(deps, largestGroup, 'RequestResponse');
};

/**
 * The warm-ups `WARM_UP_FUNCTIONS` asks for: comma-separated function names, each once, or N times
 * as `name*N` (N environments kept warm: a step a release runs for each group member at once). None
 * when it is unset or empty. A malformed entry fails the function's init, naming it.
 */
export const warmUpFunctionsFrom = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .flatMap((entry) => {
      const match = entry.match(/^([^*\s]+)(?:\*(\d+))?$/);
      const copies = Number(match?.[2] ?? 1);
      if (!match || !Number.isInteger(copies) || copies < 1 || copies > 10)
        throw new Error(
          `WARM_UP_FUNCTIONS: "${entry}" is not a function name, or name*N with N from 1 to 10 (environments to keep warm)`,
        );
      return Array.from({ length: copies }, () => match[1] as string);
    });

/**
 * Sends each function its warm-ups, as `invocation` says. A refused or failed one is logged and
 * skipped: a warm-up saves a cold start, its failure costs nothing else. `largestGroup`: the most
 * members of any release running now; a function listed N times is warmed at most that many times
 * and one more (no group running: once). Returns how many Lambda accepted (and, run at once, ran).
 */
export const keepWarm = (
  deps: KeepWarmDeps,
  largestGroup: number,
  invocation: WarmUpInvocation,
): Promise<number> => sendWarmUps(deps.lambda, copiesFor(deps.warmUpFunctions, largestGroup + 1), invocation);

/** How many warm-ups each function of `list` gets: as often as listed, at most `maxCopies`. */
const copiesFor = (list: readonly string[], maxCopies: number): Map<string, number> => {
  const copies = new Map<string, number>();
  for (const name of list) copies.set(name, Math.min((copies.get(name) ?? 0) + 1, maxCopies));
  return copies;
};

const sendWarmUps = async (
  lambda: KeepWarmDeps['lambda'],
  copies: ReadonlyMap<string, number>,
  invocation: WarmUpInvocation,
): Promise<number> => {
  const single = JSON.stringify(WARM_UP_EVENT);
  // A function warmed several times at once: each warm-up holds its environment, so they overlap.
  const several = JSON.stringify({ ...WARM_UP_EVENT, holdMs: WARM_UP_HOLD_MS });
  const names = [...copies].flatMap(([name, n]) => Array.from({ length: n }, () => name));
  const sent = await Promise.allSettled(
    names.map(async (name) => {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: name,
          InvocationType: invocation,
          Payload: (copies.get(name) ?? 1) > 1 ? several : single,
        }),
      );
      if (out.FunctionError)
        throw new Error(
          `${out.FunctionError}: ${Buffer.from(out.Payload ?? [])
            .toString('utf8')
            .slice(0, 300)}`,
        );
    }),
  );
  const refused = sent.flatMap((s, i) =>
    s.status === 'rejected' ? [`${names[i]}: ${(s.reason as Error).message}`] : [],
  );
  if (refused.length > 0) logger.warn('warm-ups refused', { refused });
  return sent.length - refused.length;
};
