/**
 * Fault matrix, release groups: bugs (test/fixtures/targets-group.json, released all at once here so
 * a rollback comes after the cut-over) is a web service, a second web service on its own rule, a
 * worker with its own image and a singleton beat. Every group state × every step fault must still
 * end as it would have: Promoted on the way forward, RolledBack after an alarm that fires once the
 * beat changed over, Aborted when the worker's new image never runs. A stop or a rollback at any
 * group state leaves nothing split or blocked, within two reconciler periods. I1-I9 hold throughout:
 * the group ends on one colour, and the beat never runs twice.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTarget } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS } from '../../local/world.ts';
import {
  releaseDefinitionText,
  rollbackDefinitionText,
  taskStatesOf,
} from '../../state-machines/definitions.ts';
import {
  changeInFlight,
  eventFaults,
  groupStates,
  runIn,
  stepFaults,
  stopWithChangeInFlight,
} from '../support/fault-matrix.ts';
import {
  brokenInvariants,
  RECOVERY_BOUND_SECONDS,
  RECOVERY_WAIT_BOUND_SECONDS,
  recoveredWithin,
  recoveryBroken,
  watchSingletons,
} from '../support/invariants.ts';

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/targets-group.json', import.meta.url)), 'utf8'),
);
fixture.targets[0].traffic.strategy = { type: 'all-at-once' };
const targetsFile = join(tmpdir(), `switchyard-group-steps-${process.pid}.json`);
writeFileSync(targetsFile, JSON.stringify(fixture));
const releaseId = releaseIdFor('bugs', EcrModel.digestOf('bugs', 'v2'));
/** The api member's listener rule (the group's web member). */
const apiRuleArn = (): string => {
  const api = fixture.targets[0].group.find((m: { name: string }) => m.name === 'api');
  return api.traffic.listenerRuleArn;
};

const groupWorld = async (faults?: FaultPlan) => {
  const rt = await LocalRuntime.start({ targetsFile, faults }, (r) => {
    for (const t of r.targets.targets)
      buildWorld(r.account, t, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
  });
  const target = findTarget(rt.targets, 'bugs');
  return { rt, target, overlaps: watchSingletons(rt, target) };
};

const push = (rt: LocalRuntime) => {
  rt.account.ecr.push('bugs-worker', 'v2', { silent: true });
  rt.push('bugs', 'v2');
};

/** One release of bugs v2 with `faults`, checked: its outcome, and I1-I9 after the world drains. */
const groupCase = async (name: string, faults: FaultPlan, expected: string) => {
  const world = await groupWorld(faults);
  return runIn(name, world, expected, async () => {
    push(world.rt);
    await world.rt.settle();
    return { ids: [releaseId], outcome: (await world.rt.release(releaseId))?.outcome };
  });
};

/** How each group state is reached: its scenario's faults and the outcome without step faults. */
const scenarios = {
  happy: { plan: {} as FaultPlan, outcome: 'Promoted' },
  /** v2 answers 5% with 5xx: the alarm fails the bake after the cut-over, the group goes back. */
  alarm: { plan: { errorRates: { v2: 0.05 } } as FaultPlan, outcome: 'RolledBack' },
  /** The worker's v2 exits at once: its deployment fails, every new colour is cleaned up. */
  'bad worker': { plan: { unhealthyTags: ['bugs-worker:v2'] } as FaultPlan, outcome: 'Aborted' },
} as const;
const scenarioOf = (state: string): keyof typeof scenarios =>
  state === 'CleanUpMember'
    ? 'bad worker'
    : groupStates.indexOf(state) > groupStates.indexOf('CleanUpMember')
      ? 'alarm'
      : 'happy';
const forward = groupStates.slice(0, groupStates.indexOf('CleanUpMember'));

describe('fault matrix: group steps', () => {
  describe.each(groupStates)('%s', (state) => {
    const scenario = scenarios[scenarioOf(state)];
    it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])(
      `${scenarioOf(state)} + %s`,
      async (fault) => {
        const result = await groupCase(
          `group ${state} × ${fault}`,
          { ...scenario.plan, ...stepFaults[fault](state) },
          scenario.outcome,
        );
        expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
        expect(result.broken, JSON.stringify(result)).toEqual([]);
        expect(result.outcome).toBe(scenario.outcome);
      },
    );
  });

  it.each(Object.keys(eventFaults) as (keyof typeof eventFaults)[])(
    'the beat draining, ECS Task State Change: %s',
    async (fault) => {
      const result = await groupCase(
        `group task events × ${fault}`,
        eventFaults[fault]('ECS Task State Change'),
        'Promoted',
      );
      expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe('Promoted');
    },
  );

  const entered = (rt: LocalRuntime, state: string) =>
    rt.executions().some((e) => e.name === releaseId && e.history.some((h) => h.state === state));

  it.each(forward)(
    'a rollback requested at %s: the group stops as one, nothing left split',
    async (state) => {
      const world = await groupWorld();
      const result = await runIn(`group rollback requested at ${state}`, world, 'any', async () => {
        push(world.rt);
        expect(await world.rt.runUntil(() => entered(world.rt, state))).toBe(true);
        const rollbackId = world.rt.startRollback({ target: 'bugs', reason: `fault matrix: ${state}` });
        world.rt.faults.fired.push(`rollback requested at ${state}`);
        await world.rt.settle();
        const outcome = (await world.rt.release(releaseId))?.outcome;
        expect(['Aborted', 'RolledBack', 'Promoted']).toContain(outcome);
        // Requested once promoted (at the last scale-down), the rollback puts the promoted group back.
        if (outcome === 'Promoted') expect((await world.rt.release(rollbackId))?.outcome).toBe('RolledBack');
        return { ids: [releaseId, rollbackId], outcome };
      });
      expect(result.broken, JSON.stringify(result)).toEqual([]);
    },
  );

  it.each(forward)('stopped at %s: the group recovered within two reconciler periods', async (state) => {
    const world = await groupWorld();
    const result = await runIn(`group stopped at ${state}`, world, 'any', async () => {
      push(world.rt);
      expect(await world.rt.runUntil(() => entered(world.rt, state))).toBe(true);
      world.rt.stopExecution(releaseId);
      world.rt.faults.fired.push(`stopped at ${state}`);
      await world.rt.wait(RECOVERY_BOUND_SECONDS);
      expect(await recoveryBroken(world.rt, world.target, [releaseId])).toEqual([]);
      return { ids: [releaseId], outcome: (await world.rt.release(releaseId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
  });
});

/**
 * The group's steps that change a service, each stopped as its UpdateService lands with the answer
 * lost (test/faults/stop-in-flight.test.ts for the primary's): the step runs on after the stop, so
 * the recovery must wait for it, within its own bound (its wait for the safe colour and a tick).
 */
const changingStates = groupStates.filter((s) => !s.startsWith('WaitFor'));

describe('fault matrix: a group stopped while a member step’s change is in flight', () => {
  it.each(changingStates)('stopped as %s’s UpdateService lands', async (state) => {
    const scenario = scenarios[scenarioOf(state)];
    const world = await groupWorld({ ...scenario.plan, ...changeInFlight(state, 'ECS', 'UpdateService') });
    const result = await runIn(`group stopped as ${state}'s UpdateService lands`, world, 'any', async () => {
      push(world.rt);
      expect(
        await stopWithChangeInFlight(world.rt, releaseId, state, 'ECS.UpdateService'),
        `${state}'s UpdateService goes out`,
      ).toBe(true);
      expect(
        await recoveredWithin(world.rt, world.target, [releaseId], RECOVERY_WAIT_BOUND_SECONDS),
        'I8',
      ).toEqual([]);
      await world.rt.settle();
      return { ids: [releaseId], outcome: (await world.rt.release(releaseId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
  });
});

/** The rollback machine's group states on its way forward (CleanUpMember runs only if it fails). */
const rollbackGroupStates = taskStatesOf(rollbackDefinitionText()).filter(
  (s) => groupStates.includes(s) && s !== 'CleanUpMember',
);

/** bugs v2 promoted, then an ops rollback of the group with `faults` armed for it, checked. */
const groupRollbackCase = async (
  name: string,
  faults: FaultPlan,
  drive: (world: Awaited<ReturnType<typeof groupWorld>>, id: string) => Promise<void>,
  expected: string,
) => {
  const world = await groupWorld();
  return runIn(name, world, expected, async () => {
    push(world.rt);
    await world.rt.settle();
    await world.rt.drain();
    world.rt.faults.arm(faults);
    const id = world.rt.startRollback({ target: 'bugs', reason: name });
    await drive(world, id);
    await world.rt.settle();
    return { ids: [releaseId, id], outcome: (await world.rt.release(id))?.outcome };
  });
};

describe('fault matrix: the ops rollback of a promoted group', () => {
  it('covers the rollback machine’s group states, whose Retry blocks are the release’s own', () => {
    // Every group state a release takes on its way forward (CleanUpMember runs only if it fails).
    expect(rollbackGroupStates).toEqual(forward);
    // The same functions as the release's group states, with the same retries: the release matrix
    // above strikes each of them with every step fault, so here each state gets one (rotating).
    const retries = (text: string) => {
      const found = new Map<string, unknown>();
      const walk = (states: Record<string, Record<string, unknown>>) => {
        for (const [name, state] of Object.entries(states)) {
          if (state.Retry) found.set(name, state.Retry);
          for (const b of (state.Branches as { States: typeof states }[] | undefined) ?? []) walk(b.States);
          const inner = state.ItemProcessor as { States: typeof states } | undefined;
          if (inner) walk(inner.States);
        }
      };
      walk(JSON.parse(text).States);
      return found;
    };
    const release = retries(releaseDefinitionText());
    const rollback = retries(rollbackDefinitionText());
    for (const state of [...rollbackGroupStates, 'CleanUpMember'])
      expect(rollback.get(state), state).toEqual(release.get(state));
  });

  const faults = Object.keys(stepFaults) as (keyof typeof stepFaults)[];
  it.each(
    rollbackGroupStates.map((state, i) => [state, faults[i % faults.length] as keyof typeof stepFaults]),
  )('rollback %s × %s → RolledBack, the beat never twice', async (state, fault) => {
    const result = await groupRollbackCase(
      `group rollback ${state} × ${fault}`,
      stepFaults[fault](state),
      async () => {},
      'RolledBack',
    );
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('RolledBack');
  });

  it('a web rule the rollback cannot set (AccessDenied): no rule moves, so the group never splits across versions; RollbackFailed says which', async () => {
    const { rt, target } = await groupWorld();
    try {
      // Which colour each web rule sends all its traffic to.
      const rules = () =>
        [target.traffic, ...target.group.flatMap((m) => (m.traffic ? [m.traffic] : []))].map((traffic) => {
          const weights = rt.account.elbv2.weightsOf(traffic.listenerRuleArn ?? traffic.listenerArn ?? '');
          return weights[traffic.targetGroups.green] === 100 ? 'green' : 'blue';
        });
      push(rt);
      await rt.settle();
      await rt.drain();
      expect(rules()).toEqual(['green', 'green']);
      // The primary's ModifyRule passes, the api member's is refused: a permanent error, not retried.
      rt.faults.arm({
        api: [
          {
            service: 'ELBv2',
            operation: 'ModifyRule',
            state: 'ShiftTraffic',
            error: 'AccessDenied',
            status: 403,
            after: 1,
            times: 1,
          },
        ],
      });
      const id = rt.startRollback({ target: 'bugs', reason: 'v2 corrupts the dedup index' });
      await rt.settle();
      await rt.drain(600);
      expect(rt.faults.fired).toEqual(['ShiftTraffic: ELBv2.ModifyRule: AccessDenied']);
      const rollback = await rt.release(id);
      expect(rollback?.outcome).toBe('RollbackFailed');
      expect(rollback?.error?.Cause).toMatch(/AccessDenied/);
      expect(rollback?.error?.Cause).toMatch(/no rule moved/);
      // The refused rule never moved, and the primary's went back with it: the group stays on green,
      // as one (I1 for every member). The restored colours keep running for a person to decide (I4).
      expect(rules()).toEqual(['green', 'green']);
      const broken = await brokenInvariants(rt, target, [releaseId, id], 0);
      expect(broken.filter((b) => b.startsWith('I1'))).toEqual([]);
    } finally {
      await rt.dispose();
    }
  });

  it.each(rollbackGroupStates)(
    'rollback stopped at %s: recovered within two reconciler periods',
    async (state) => {
      const result = await groupRollbackCase(
        `group rollback stopped at ${state}`,
        {},
        async (world, id) => {
          const at = () =>
            world.rt.executions().some((e) => e.name === id && e.history.some((h) => h.state === state));
          expect(await world.rt.runUntil(at), `${id} reaches ${state}`).toBe(true);
          world.rt.stopExecution(id);
          world.rt.faults.fired.push(`stopped at ${state}`);
          await world.rt.wait(RECOVERY_BOUND_SECONDS);
          expect(await recoveryBroken(world.rt, world.target, [id])).toEqual([]);
        },
        'any',
      );
      expect(result.broken, JSON.stringify(result)).toEqual([]);
    },
  );
});

/**
 * A stopped execution's Lambda runs on: a ShiftTraffic whose member rule fails slowly (its answer
 * lost after the call took effect, or a refusal that takes seconds) ends after a stop or an ops
 * rollback has already put the group back. What it does then must not undo that.
 */
describe('fault matrix: a weight change that fails while a stop or rollback lands', () => {
  /**
   * The api member's rule, by its ARN: the step sets every rule side by side, so which ModifyRule is
   * answered second depends on the latencies drawn (counting calls picked the primary's rule once
   * the step's timing changed).
   */
  const memberRuleFails = (slow: 'lost answer' | 'slow refusal'): FaultPlan => {
    const resource = apiRuleArn();
    return {
      api: [
        slow === 'lost answer'
          ? {
              service: 'ELBv2',
              operation: 'ModifyRule',
              state: 'ShiftTraffic',
              resource,
              error: 'TimeoutError',
              mode: 'timeout',
              times: 3,
            }
          : {
              service: 'ELBv2',
              operation: 'ModifyRule',
              state: 'ShiftTraffic',
              resource,
              error: 'AccessDenied',
              status: 403,
              delaySeconds: 8,
              times: 1,
            },
      ],
    };
  };

  it.each([
    ['lost answer', 'stop'],
    ['lost answer', 'rollback'],
    ['slow refusal', 'stop'],
    ['slow refusal', 'rollback'],
  ] as const)(
    'release, the member rule: %s, then an ops %s: the group ends on one colour, I1-I9 hold',
    async (slow, how) => {
      const world = await groupWorld();
      const result = await runIn(`group member rule ${slow}, then ${how}`, world, 'RolledBack', async () => {
        world.rt.faults.arm(memberRuleFails(slow));
        push(world.rt);
        expect(await world.rt.runUntil(() => world.rt.faults.fired.length > 0)).toBe(true);
        const ids = [releaseId];
        if (how === 'stop') world.rt.stopExecution(releaseId);
        else ids.push(world.rt.startRollback({ target: 'bugs', reason: `${slow} while traffic moves` }));
        await world.rt.settle();
        return { ids, outcome: (await world.rt.release(releaseId))?.outcome };
      });
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe('RolledBack');
    },
  );

  it('ops rollback of the promoted group, stopped while its member rule is slowly refused: it stays RolledBack on blue, I1-I9 hold', async () => {
    const world = await groupWorld();
    const result = await runIn('group rollback stopped during a slow refusal', world, 'any', async () => {
      push(world.rt);
      await world.rt.settle();
      await world.rt.drain();
      world.rt.faults.arm(memberRuleFails('slow refusal'));
      const id = world.rt.startRollback({ target: 'bugs', reason: 'v2 corrupts the dedup index' });
      expect(await world.rt.runUntil(() => world.rt.faults.fired.length > 0)).toBe(true);
      world.rt.stopExecution(id);
      await world.rt.settle();
      await world.rt.drain(RECOVERY_BOUND_SECONDS);
      return { ids: [releaseId, id], outcome: (await world.rt.release(id))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('RolledBack');
  });
});
