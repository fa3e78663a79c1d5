/**
 * The fast rollback of a failed bake: whoever claims the failed bake (the alarm event, a reconciler
 * tick, an operator's rollback) puts all traffic back on the warm old colour at once — one write and
 * its read-back — before the release even hears of it. Measured as a user would: from the trigger to
 * the verified weights, and the AWS calls in between.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTarget } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { INIT_MS } from '../../local/execution-environments.ts';
import { rollbackPath } from '../../local/rollback-path.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import {
  liveWeights,
  type RunOptions,
  runningTasks,
  runRelease,
  type Scenario,
  type ScenarioSummary,
  scenarios,
} from '../../local/scenarios.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';

const targetsFile = fileURLToPath(new URL('../../local/targets.json', import.meta.url));

interface Measured {
  summary: ScenarioSummary;
  path: ReturnType<typeof rollbackPath>;
  /** Virtual ms when the release's RollBackTraffic step started, and when the weights were back. */
  rollBackTrafficAt: number;
  weightsBackAt: number;
  /** ModifyRule calls by function, after the trigger. */
  writers: string[];
}

const measure = async (scenario: Scenario, options: Partial<RunOptions> = {}): Promise<Measured> => {
  let measured: Measured | undefined;
  await runRelease(
    'fast-rollback',
    scenario,
    { targetsFile, ...options },
    (runtime: LocalRuntime, { pushedAt, summary }) => {
      const target = findTarget(runtime.targets, scenario.target);
      const commandAt =
        summary.commandAtSeconds === undefined ? undefined : pushedAt + summary.commandAtSeconds * 1000;
      const path = rollbackPath(runtime, target, commandAt, pushedAt);
      const phase = summary.phases.find((p) => p.name === 'RollBackTraffic');
      const back = runtime.account.elbv2.weightHistory.findLast(
        (h) => (h.weights[target.traffic.targetGroups.green] ?? 0) === 0,
      );
      const trigger =
        commandAt ?? runtime.account.cloudwatch.history.find((h) => h.state === 'ALARM')?.at ?? 0;
      measured = {
        summary,
        path,
        rollBackTrafficAt: Date.parse(phase?.startedAt ?? ''),
        weightsBackAt: back?.at ?? Number.NaN,
        writers: runtime.account.callLog
          .filter((c) => c.at >= trigger && c.call === 'ELBv2.ModifyRule')
          .map((c) => c.by ?? '?'),
      };
    },
  );
  if (!measured) throw new Error('no measurement');
  return measured;
};

describe('fast rollback of a failed bake', () => {
  it('alarm at the canary, event path: DescribeAlarms, one write, one read-back, then the release hears', async () => {
    // Reconciler ticks far apart, so the alarm's event is what finds the failed bake.
    const m = await measure(scenarios['canary-alarm'], { reconcileEverySeconds: 3600 });
    expect(m.summary.outcome).toBe('RolledBack');
    expect(m.path).toMatchObject({
      calls: { 'CloudWatch.DescribeAlarms': 1, 'ELBv2.ModifyRule': 1, 'ELBv2.DescribeRules': 1 },
      movedBy: 'wait-resume',
    });
    expect(Object.keys(m.path?.calls ?? {})).toHaveLength(3);
    expect(m.path?.seconds).toBeLessThanOrEqual(2);
    // Traffic was back before the release's own rollback step began, which wrote nothing more.
    expect(m.weightsBackAt).toBeLessThan(m.rollBackTrafficAt);
    expect(m.writers).toEqual(['wait-resume']);
    expect(m.summary.error?.Cause).toMatch(/all traffic back on blue \(blue=100 green=0\), verified at /);
    expect(m.summary).toMatchObject({ weights: { blue: 100, green: 0 }, tasks: { blue: 4, green: 0 } });
  });

  it('alarm at the canary, found by a reconciler tick: the same three calls', async () => {
    const m = await measure(scenarios['canary-alarm']);
    expect(m.summary.outcome).toBe('RolledBack');
    expect(m.path?.movedBy).toBe('reconciler');
    // The tick's target-health read is skipped for a bake the alarm has already decided.
    expect(m.path?.calls).toEqual({
      'CloudWatch.DescribeAlarms': 1,
      'ELBv2.ModifyRule': 1,
      'ELBv2.DescribeRules': 1,
    });
    expect(m.writers).toEqual(['reconciler']);
  });

  it("operator's rollback during the warm bake: the command, one write, one read-back", async () => {
    const m = await measure(scenarios['ops-rollback-fast']);
    expect(m.summary).toMatchObject({ outcome: 'RolledBack', releaseOutcome: 'RolledBack' });
    expect(m.path).toMatchObject({
      calls: { 'SFN.StartExecution': 1, 'ELBv2.ModifyRule': 1, 'ELBv2.DescribeRules': 1 },
      movedBy: 'acquire-lock',
    });
    expect(Object.keys(m.path?.calls ?? {})).toHaveLength(3);
    expect(m.weightsBackAt).toBeLessThan(m.rollBackTrafficAt);
    expect(m.writers).toEqual(['acquire-lock']);
  });

  it('when the fast write is refused, the release’s RollBackTraffic still puts traffic back', async () => {
    const m = await measure(
      {
        ...scenarios['canary-alarm'],
        faults: {
          ...scenarios['canary-alarm'].faults,
          // e.g. a policy that lets only the traffic steps change the rule
          api: ['wait-resume', 'reconciler'].map((folder) => ({
            service: 'ELBv2',
            operation: 'ModifyRule',
            folder,
            error: 'AccessDenied',
            status: 403,
            times: 1,
          })),
        },
      },
      { reconcileEverySeconds: 3600 },
    );
    expect(m.summary).toMatchObject({
      outcome: 'RolledBack',
      weights: { blue: 100, green: 0 },
      tasks: { blue: 4, green: 0 },
    });
    expect(m.path?.movedBy).toBe('roll-back-traffic');
    // roll-back-traffic runs for the first time in this world: a cold start (its init) included.
    expect(m.path?.seconds).toBeLessThanOrEqual(2 + INIT_MS / 1000);
    expect(m.writers).toEqual(['wait-resume', 'roll-back-traffic']);
  });
});

describe('a fast rollback that lands as the warm bake ends', () => {
  it('is not called Promoted: scale-down finds the old colour with weight and the rollback is finished', async () => {
    let runtime: LocalRuntime | undefined;
    let movedBack = false;
    runtime = await LocalRuntime.start(
      {
        targetsFile,
        // The bake has just timed out and the release moves on, when the traffic goes back.
        onProgress: (line) => {
          if (line.text !== 'ScaleDownOldColour' || !runtime || movedBack) return;
          const { listenerRuleArn, targetGroups } = findTarget(runtime.targets, 'checkout-api').traffic;
          runtime.account.elbv2.ModifyRule({
            RuleArn: listenerRuleArn as string,
            Actions: [
              {
                Type: 'forward',
                ForwardConfig: {
                  TargetGroups: [
                    { TargetGroupArn: targetGroups.blue, Weight: 100 },
                    { TargetGroupArn: targetGroups.green, Weight: 0 },
                  ],
                },
              },
            ],
          });
          movedBack = true;
        },
      },
      async (r) => {
        const checkout = findTarget(r.targets, 'checkout-api');
        buildWorld(r.account, checkout, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
        await serveTestListener(r.account, checkout);
      },
    );
    try {
      const { digest } = runtime.push('checkout-api', 'v2');
      await runtime.settle();
      expect(movedBack).toBe(true);
      const release = await runtime.release(releaseIdFor('checkout-api', digest));
      expect(release).toMatchObject({
        outcome: 'RolledBack',
        error: { Error: 'TrafficSplit', Cause: expect.stringContaining('blue still has weight 100') },
      });
      const checkout = findTarget(runtime.targets, 'checkout-api');
      expect(liveWeights(runtime, checkout)).toEqual({ blue: 100, green: 0 });
      await runtime.wait(120);
      expect(runningTasks(runtime, checkout)).toEqual({ blue: 4, green: 0 });
    } finally {
      await runtime.dispose();
    }
  });
});
