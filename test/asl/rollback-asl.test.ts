/** Static checks of the rollback state machine file. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { errorNames } from '../../functions/shared/errors.ts';
import {
  placeholdersIn,
  rollbackDefinitionText,
  rollbackFunctions,
  substitute,
} from '../../state-machines/definitions.ts';

interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Choices?: { Variable: string; StringEquals?: string; Next: string }[];
  Default?: string;
  Next?: string;
}
type AslValidator = (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => { errors: unknown[] };
const validate = createRequire(import.meta.url)('asl-validator') as AslValidator;
const text = rollbackDefinitionText();
const definition = JSON.parse(text) as { StartAt: string; States: Record<string, State> };
const states = definition.States;
const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task');

/** Every state reachable from `from`, following Next, Default, Choices and Catch. */
const reachable = (from: string, seen = new Set<string>()): Set<string> => {
  if (seen.has(from)) return seen;
  seen.add(from);
  const s = states[from];
  for (const next of [
    s?.Next,
    s?.Default,
    ...(s?.Choices ?? []).map((c) => c.Next),
    ...(s?.Catch ?? []).map((c) => c.Next),
  ]) {
    if (next) reachable(next, seen);
  }
  return seen;
};

describe('rollback.asl.json', () => {
  it('is valid ASL with real ARNs, using exactly the placeholders the loading code provides', () => {
    const arns = Object.fromEntries(
      Object.keys(rollbackFunctions).map((key) => [
        key,
        `arn:aws:lambda:us-east-1:123456789012:function:${key}`,
      ]),
    );
    expect(validate(JSON.parse(substitute(text, arns)), { checkPaths: true, checkArn: true }).errors).toEqual(
      [],
    );
    expect(placeholdersIn(text).sort()).toEqual(Object.keys(rollbackFunctions).sort());
  });

  it('gives every Task a timeout, the Lambda retry block and a catch-all, matching only known errors', () => {
    for (const [name, state] of tasks) {
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      expect(
        state.Retry?.flatMap((r) => r.ErrorEquals),
        name,
      ).toContain('Lambda.ServiceException');
      expect(
        state.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')),
        name,
      ).toBe(true);
    }
    const custom = Object.values(states)
      .flatMap((s) => [...(s.Retry ?? []), ...(s.Catch ?? [])])
      .flatMap((r) => r.ErrorEquals)
      .filter((n) => !n.startsWith('States.') && !n.startsWith('Lambda.'));
    for (const name of custom) expect(errorNames).toContain(name);
  });

  it('takes the fast path without deploying, the slow path through deploy, wait and health check', () => {
    const route = Object.fromEntries(
      (states.RollbackPath?.Choices ?? []).map((c) => [c.StringEquals, c.Next]),
    );
    expect(route).toEqual({ none: 'MarkRolledBack', fast: 'BeginShifting' });
    expect(states.RollbackPath?.Default).toBe('DeployPrevious');
    const fast = reachable('BeginShifting');
    expect(fast.has('DeployPrevious')).toBe(false);
    expect([...reachable('DeployPrevious')]).toEqual(
      expect.arrayContaining(['WaitForServiceStable', 'CheckHealth', 'ShiftTraffic', 'ScaleDownOldColour']),
    );
  });

  it('is bounded by a top-level timeout, and only a failed rollback ends as a failed execution', () => {
    // A day queued for the lock, then at most about an hour on the slow path.
    expect((JSON.parse(text) as { TimeoutSeconds?: number }).TimeoutSeconds).toBeGreaterThan(25 * 3600);
    const ends = Object.entries(states).filter(([, s]) => ['Succeed', 'Fail'].includes(s.Type));
    expect(Object.fromEntries(ends.map(([name, s]) => [name, s.Type]))).toEqual({
      RolledBack: 'Succeed',
      RollbackAborted: 'Succeed',
      RollbackFailed: 'Fail',
    });
  });

  it('records the outcome, frees the lock and notifies on every path', () => {
    for (const mark of ['MarkRolledBack', 'MarkAborted', 'MarkRollbackFailed']) {
      expect(states[mark]?.Next).toBe('RecordOutcome');
    }
    expect(states.RecordOutcome?.Next).toBe('ReleaseLock');
    expect(states.ReleaseLock?.Next).toBe('Notify');
    const ends = Object.entries(states).filter(([, s]) => s.Type === 'Succeed' || s.Type === 'Fail');
    for (const [name] of ends) expect(reachable('Notify').has(name), name).toBe(true);
    // Nothing but the marks reaches RecordOutcome, so no path skips the lock release.
    const into = Object.entries(states)
      .filter(([, s]) => s.Next === 'RecordOutcome')
      .map(([n]) => n);
    expect(into.sort()).toEqual(['MarkAborted', 'MarkRollbackFailed', 'MarkRolledBack']);
  });
});
