import { describeFiring, noAlarms, readAlarms } from '../shared/alarms.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { scaleService } from '../shared/ecs.ts';
import { AlarmTriggered, RollbackRequested, TrafficSplit } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import { withServiceClaim } from '../shared/service-claims.ts';
import { readWeights } from '../shared/traffic.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  'targets' | 'elbv2' | 'ecs' | 'cloudwatch' | 'store' | 'now' | 'invocationEndsAt' | 'invocationId'
>;

/**
 * After the warm bake: scales the old colour to 0, but never while it still has weight, and not
 * while a watched alarm is in ALARM (the warm bake's last word, as ShiftTraffic checks the previous
 * bake's before each step: an alarm whose event had not arrived when the bake ended still counts).
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const [{ weights }, alarms] = await Promise.all([
    readWeights(deps.elbv2, target.traffic),
    // A rollback scales down the version it removed: the alarms it set off do not hold it up.
    input.plan.alarmsJudgeNewColour ? readAlarms(deps.cloudwatch, target.alarms) : noAlarms,
  ]);
  if (weights[input.plan.fromColour] > 0) {
    throw new TrafficSplit(
      `${input.plan.fromColour} still has weight ${weights[input.plan.fromColour]}; not scaling it down`,
    );
  }
  if (alarms.firing.length > 0) {
    throw new AlarmTriggered(
      `after the warm bake, before scaling ${input.plan.fromColour} down: ${describeFiring(alarms.firing)}`,
    );
  }
  // A rollback asked this release to stop (or its execution ended) while the old colour is still
  // warm: keep it, go back. Read under the claim, right before the scale-down: the recovery writes
  // its halt and then reads the claims, so either this sees the halt or the recovery waits for this
  // step (read before the claim, a recovery in between found no claim, put traffic on the old
  // colour, and this then scaled it down under that traffic). Read once more after the scale-down:
  // a halt that landed in between puts the old colour's tasks back (halt.ts).
  const { cluster, fromService } = input.plan;
  await withServiceClaim(deps, input.releaseId, { cluster, service: fromService }, async () => {
    const halted = haltReason(await deps.store.getRelease(input.releaseId));
    if (halted) throw new RollbackRequested(`${halted}; ${input.plan.fromColour} kept warm`);
    await scaleService(deps.ecs, cluster, fromService, 0);
    const late = haltReason(await deps.store.getRelease(input.releaseId));
    if (late) {
      await scaleService(deps.ecs, cluster, fromService, input.plan.desiredCount);
      throw new RollbackRequested(`${late} as ${input.plan.fromColour} was scaled down; scaled back up`);
    }
    // Promoted, whatever a read of the old colour shows a moment later (recovery.ts). Written once
    // the scale-down has landed and stays: an attempt that failed before (throttled, say) writes
    // nothing, so a release that then goes back is not taken for promoted.
    await deps.store.updateRelease(input.releaseId, { oldColourScaledDownAt: deps.now().toISOString() });
  });
  return { service: input.plan.fromService, desiredCount: 0 };
};
