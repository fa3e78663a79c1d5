/**
 * Fault matrix, release state machine: every step × every step fault (API 5xx, throttling, a call
 * that times out after taking effect, a crash after the side effect, a function timeout). Each case
 * is a whole release in the simulated account; it must end as it would have without the fault, with
 * the invariants I1-I7 holding (test/support/invariants.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  fixtureReleaseStates,
  runCase,
  type ScenarioName,
  scenarios,
  stepFaults,
} from '../support/fault-matrix.ts';

/** The scenario that reaches each Task state of the release state machine. */
const scenarioOf: Record<string, ScenarioName> = {
  CleanUpInactiveColour: 'bad image',
  RollBackTraffic: 'alarm',
};
/** The states other worlds reach are covered there (fixtureReleaseStates). */
const states = fixtureReleaseStates();

describe('fault matrix: release steps', () => {
  it('covers every Task state of release.asl.json', () => {
    expect(states.length).toBeGreaterThanOrEqual(15);
  });

  describe.each(states)('%s', (state) => {
    const scenario = scenarioOf[state] ?? 'happy';
    it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])(`${scenario} + %s`, async (fault) => {
      const result = await runCase(`release ${state} × ${fault}`, scenario, stepFaults[fault](state));
      expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe(scenarios[scenario].outcome);
    });
  });
});
