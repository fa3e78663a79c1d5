import { describeFiring, readAlarms } from '../shared/alarms.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import {
  AlarmTriggered,
  classifyError,
  InvalidInput,
  RollbackRequested,
  Throttled,
  TransientError,
  WeightsNotApplied,
} from '../shared/errors.ts';
import { activeFreeze } from '../shared/freeze.ts';
import { haltReason } from '../shared/halt.ts';
import { notify, stepNotice } from '../shared/notifications.ts';
import { weightsFor } from '../shared/strategy.ts';
import { allTo, type ForwardState, readWeights, setWeights, type TrafficConfig } from '../shared/traffic.ts';
import { type Colour, Outcome, ReleaseKind } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

/** How long a halted rollback's step waits for its recovery's decision (it follows in seconds). */
const RECOVERY_WAIT_SECONDS = 10;

/**
 * The outcome the recovery of a stopped execution recorded, read once a second for up to
 * RECOVERY_WAIT_SECONDS. Undefined if none yet: a recovery that runs later reads the weights as they
 * are now.
 */
const recoveryOutcome = async (releaseId: string, deps: Pick<ReleaseDeps, 'store'>) => {
  for (let i = 0; i <= RECOVERY_WAIT_SECONDS; i++) {
    const outcome = (await deps.store.getRelease(releaseId))?.outcome;
    if (outcome) return outcome;
    if (i < RECOVERY_WAIT_SECONDS) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return undefined;
};

type Deps = Pick<
  ReleaseDeps,
  'targets' | 'elbv2' | 'cloudwatch' | 'store' | 'now' | 'sns' | 'secrets' | 'events' | 'eventBus'
>;

/**
 * One SetWeight of the plan: unless a freeze window holds it back, checks no watched alarm is in
 * ALARM (after the first step: the previous bake's last word), sends the whole forward action and
 * reads the rule back until the weights landed.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { plan } = input;
  const step = plan.steps[input.step];
  if (!step) throw new InvalidInput(`step ${input.step} is not in the plan (${plan.steps.length} steps)`);
  const target = findTarget(deps.targets, input.target);
  const now = deps.now();

  const freeze = activeFreeze(target.freezeWindows, now);
  if (freeze && !plan.breakGlass) {
    const waitSeconds = Math.max(1, Math.ceil((freeze.endsAt.getTime() - now.getTime()) / 1000));
    // Weights stay still, but traffic already on the new colour stays watched (a FrozenWatch).
    const held = await readWeights(deps.elbv2, target.traffic);
    const percent = held.weights[plan.toColour];
    return {
      frozen: true,
      step: input.step,
      next: input.step,
      waitSeconds,
      window: freeze.window.name,
      until: freeze.endsAt.toISOString(),
      ...(percent > 0 && {
        watch: {
          step: input.step,
          stepCount: plan.steps.length,
          percent,
          bakeSeconds: waitSeconds,
          last: false,
          weights: held.weights,
          actions: held.actions,
        },
      }),
      summary: `held by freeze window "${freeze.window.name}" until ${freeze.endsAt.toISOString()}${percent > 0 ? `; ${percent}% stays on ${plan.toColour}, watched` : ''}`,
    };
  }
  if (freeze && plan.breakGlass) {
    await deps.store.appendPhase(input.releaseId, {
      name: 'BreakGlass',
      startedAt: now.toISOString(),
      endedAt: now.toISOString(),
      status: 'succeeded',
      detail: `step ${input.step + 1} moved traffic inside freeze window "${freeze.window.name}": ${plan.breakGlass.reason} (by ${plan.breakGlass.by})`,
    });
  }

  // The alarm check (after the first step: the previous bake's last word) and the rule's current
  // actions are independent reads: side by side, they cost one round trip before the weight change.
  // A group's web members move in lockstep with the primary: every rule is read, set and verified
  // before the bake.
  const members = plan.members.filter((m) => m.traffic);
  const [alarms, current, before, ...membersNow] = await Promise.all([
    input.step > 0 ? readAlarms(deps.cloudwatch, target.alarms) : undefined,
    readWeights(deps.elbv2, target.traffic),
    deps.store.getRelease(input.releaseId),
    ...members.map((m) => readWeights(deps.elbv2, m.traffic as TrafficConfig)),
  ]);
  // A rollback asked this release to stop, or its execution ended: no weight moves forward after that.
  const halted = haltReason(before);
  if (halted) throw new RollbackRequested(halted);
  if (alarms && alarms.firing.length > 0) throw new AlarmTriggered(describeFiring(alarms.firing));

  const rules: LockstepRule[] = [
    { name: target.name, traffic: target.traffic, to: plan.toColour, now: current },
    ...members.map((m, i) => ({
      name: m.name,
      traffic: m.traffic as TrafficConfig,
      to: m.toColour,
      now: membersNow[i] as ForwardState,
    })),
  ];
  let set: ForwardState | undefined;
  let setError: unknown;
  try {
    set = await setInLockstep(deps, input.releaseId, rules, step.percent);
  } catch (error) {
    setError = error;
  }
  // The fence: a rollback requested while the weights were being set may have stopped this
  // execution and put traffic back already; these weights must not outlive that request. A step
  // whose calls failed is fenced too: a call that timed out may have taken effect, its SDK retry
  // landing after the recovery had put the rule back.
  const after = await deps.store.getRelease(input.releaseId);
  const stopped = haltReason(after);
  if (stopped && after?.migrated === 'breaking') {
    // The old version cannot run on the new schema: the weights stay for a person to decide.
    throw new RollbackRequested(
      `${stopped} while step ${input.step + 1} was set; a breaking migration ran, so traffic stays (${set ? `blue=${set.weights.blue} green=${set.weights.green}` : 'as the failed step left it'})`,
    );
  }
  // A rollback goes forward to the colour it restores (healthy, just checked), as its recovery does:
  // undone, traffic would land on the version ops wanted gone, which the recovery that saw it back
  // has scaled to 0. Only a recovery that saw nothing moved (Aborted: it scales the restored colour
  // to 0) is followed back.
  if (
    stopped &&
    after?.kind === ReleaseKind.Rollback &&
    (await recoveryOutcome(input.releaseId, deps)) !== Outcome.Aborted
  ) {
    throw new RollbackRequested(
      `${stopped} while step ${input.step + 1} was set; traffic stays on ${plan.toColour}, the colour this rollback restores`,
    );
  }
  if (stopped) {
    await Promise.all([
      setWeights(deps.elbv2, target.traffic, allTo(plan.fromColour)),
      ...members.map((m) => setWeights(deps.elbv2, m.traffic as TrafficConfig, allTo(m.fromColour))),
    ]);
    throw new RollbackRequested(
      `${stopped} while step ${input.step + 1} was set; all traffic put back on ${plan.fromColour}`,
    );
  }
  if (!set) throw setError;
  const { weights, actions } = set;
  const last = input.step === plan.steps.length - 1;
  const report = {
    step: input.step,
    stepCount: plan.steps.length,
    percent: step.percent,
    bakeSeconds: step.bakeSeconds,
    last,
    weights,
  };
  // A step with a bake is announced by the bake's registration, inside the bake's time: the weight
  // change is not held up by the notice. A step without one is announced here.
  await Promise.all([
    deps.store.updateRelease(input.releaseId, { trafficPercent: step.percent }),
    step.bakeSeconds > 0
      ? undefined
      : notify(deps, target, stepNotice(target, input.releaseId, plan.toColour, report)),
  ]);
  return {
    frozen: false,
    ...report,
    next: input.step + 1,
    actions,
    summary: `step ${input.step + 1}/${plan.steps.length}: ${step.percent}% on ${plan.toColour} (blue=${weights.blue} green=${weights.green})`,
  };
};

/**
 * Sets every web rule of the step, all or none. When one is refused for good (not found, access
 * denied: an error no Retry will clear) and the step has several rules, the rules that read as this
 * step set them go back to the weights they had, so a group does not stay split with its web services
 * on two versions, and the error names the rule and says what moved. Nothing is put back when the
 * release was asked to stop meanwhile (a stopped execution's Lambda runs on: its recovery, or the
 * rollback, owns the traffic then), nor for an error the state's Retry answers by setting them all again.
 */
interface LockstepRule {
  /** The target or group member whose rule it is (named in errors). */
  name: string;
  traffic: TrafficConfig;
  to: Colour;
  /** As read before the step: what a failed step puts it back to. */
  now: ForwardState;
}

const setInLockstep = async (
  deps: Deps,
  releaseId: string,
  rules: LockstepRule[],
  percent: number,
): Promise<ForwardState> => {
  const set = await Promise.allSettled(
    rules.map((r) => setWeights(deps.elbv2, r.traffic, weightsFor(r.to, percent), r.now)),
  );
  const failed = set.findIndex((r) => r.status === 'rejected');
  if (failed < 0) return (set[0] as PromiseFulfilledResult<ForwardState>).value;
  const error = (set[failed] as PromiseRejectedResult).reason;
  const retried = classifyError(error);
  if (
    rules.length === 1 ||
    !(error instanceof Error) ||
    error instanceof WeightsNotApplied ||
    retried instanceof Throttled ||
    retried instanceof TransientError
  )
    throw error;
  const rule = rules[failed] as LockstepRule;
  const what = `${rule.name}'s rule could not be set to ${percent}% on ${rule.to} (${error.name}: ${error.message})`;
  const halted = haltReason(await deps.store.getRelease(releaseId));
  if (halted) {
    error.message = `${what}; ${halted} meanwhile, so the rules are left as they are`;
    throw error;
  }
  // Only a rule that still reads as this step set it is put back (its call may have taken effect
  // before it failed, and nobody else may have moved it since).
  const undone = await Promise.all(
    rules.map(async (r) => {
      try {
        const read = await readWeights(deps.elbv2, r.traffic);
        const asked = weightsFor(r.to, percent);
        if (read.weights.blue !== asked.blue || read.weights.green !== asked.green) return 'untouched';
        await setWeights(deps.elbv2, r.traffic, r.now.weights, read);
        return 'put back';
      } catch {
        return 'failed';
      }
    }),
  );
  const notUndone = rules.filter((_, i) => undone[i] === 'failed').map((r) => r.name);
  error.message = `${what}; ${
    notUndone.length === 0
      ? 'no rule moved (each one this step had set was put back as it was)'
      : `could not put back ${notUndone.join(', ')}: check their weights`
  }`;
  throw error;
};
