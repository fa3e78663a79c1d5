import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describeFiring, readAlarms } from '../shared/alarms.ts';
import { checksAt, When } from '../shared/analysis/config.ts';
import { analyse, conclude } from '../shared/analysis/index.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { AlarmTriggered } from '../shared/errors.ts';
import { otherColour } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'cloudwatch' | 'elbv2' | 'now'>;

/**
 * The bake's last judgement, over its whole window, when its time is up: the watch judged it each
 * minute, but the last minutes' data arrive after it ended. Every check's result goes on the record
 * (value, baseline, statistic, p-value, verdict). A failed check rolls back; an inconclusive one
 * (too few samples) rolls back too unless the check says `inconclusive: warn`, never a silent pass.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const end = deps.now();
  // Retries (an extended bake) keep the state's entry time: the window grows, its start stays.
  const entered = input.enteredAt ? Date.parse(input.enteredAt) : end.getTime();
  const start = new Date(entered - input.traffic.bakeSeconds * 1000);
  const extendedSeconds = Math.round((end.getTime() - entered) / 1000);
  // While extended no bake wait is registered: this attempt watches the alarms and targets itself.
  // Only a target that may extend is granted these reads, and only a retry of the extension (a
  // minute apart; the first attempt runs within seconds, a cold start included) is unwatched.
  const mayExtend = checksAt(target.analysis, When.Bakes).some((c) => c.inconclusive === 'extend');
  if (mayExtend && extendedSeconds >= 30) await watch(target, input, deps);
  // What earlier bakes recorded: at 100% the previous step's window is the old colour's baseline;
  // an extension's retry replaces its own step's entry.
  const recorded = (await deps.store.getRelease(input.releaseId))?.analysis ?? [];
  const previous =
    input.traffic.percent < 100 ? undefined : recorded.filter((a) => a.percent > 0 && a.percent < 100).at(-1);
  const results = await analyse(
    target,
    deps.cloudwatch,
    { canary: input.toColour, baseline: otherColour(input.toColour) },
    { start, end },
    {
      oldServes: input.traffic.percent < 100,
      // At 100% the old colour serves nothing: its baseline is the previous step's bake.
      baselineWindow: previous ? { start: new Date(previous.from), end: new Date(previous.to) } : undefined,
      when: When.Bakes,
    },
  );
  // One entry per step: an extension's attempt replaces the step's entry (a release record is at
  // most 400 KB in DynamoDB), it does not add one.
  const index = recorded.findIndex((a) => a.step === input.traffic.step + 1);
  await deps.store.recordAnalysis(input.releaseId, index >= 0 ? index : undefined, {
    step: input.traffic.step + 1,
    percent: input.traffic.percent,
    from: start.toISOString(),
    to: end.toISOString(),
    results,
  });
  const at = `at ${input.traffic.percent}% on ${input.toColour}`;
  return {
    summary: conclude(target, results, extendedSeconds, {
      failed: `${at}, at the bake's end`,
      extending: `${at}, ${Math.round(extendedSeconds / 60)} min past the bake's end`,
      gaveUp: `${at}: analysis still inconclusive after extending the bake ${Math.round(extendedSeconds / 60)} min`,
      tooLittle: 'too little data is never a pass',
      summary: `at ${input.traffic.percent}%`,
    }),
  };
};

/** An extended bake's watch, as the bake's own would: an alarm in ALARM or an unhealthy new target fails it. */
const watch = async (target: ReturnType<typeof findTarget>, input: Input, deps: Deps) => {
  const { firing } = await readAlarms(deps.cloudwatch, target.alarms);
  if (firing.length > 0)
    throw new AlarmTriggered(
      `at ${input.traffic.percent}% on ${input.toColour} (bake extended): ${describeFiring(firing)}`,
    );
  const out = await deps.elbv2.send(
    new DescribeTargetHealthCommand({ TargetGroupArn: target.traffic.targetGroups[input.toColour] }),
  );
  const sick = (out.TargetHealthDescriptions ?? []).filter((t) => t.TargetHealth?.State === 'unhealthy');
  if (sick.length > 0)
    throw new AlarmTriggered(
      `at ${input.traffic.percent}% on ${input.toColour} (bake extended): ${sick.length} unhealthy target(s) in the new colour's target group`,
    );
};
