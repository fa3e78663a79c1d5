/**
 * keep-warm.ts: one Invoke per function named, carrying the warm-up event (the reconciler's through
 * Lambda's queue, start-release's run at once); a refused or failed one is skipped and logged, and
 * the others still go.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  keepWarm,
  keepWarmOnce,
  reconcilerWarmUps,
  WARM_UP_EVERY_MS,
  warmUpFunctionsFrom,
} from '../../functions/shared/keep-warm.ts';
import { isWarmUp, WARM_UP_HOLD_MS } from '../../functions/shared/warm-up.ts';
import { keptWarmFunctions, warmUpList } from '../../state-machines/definitions.ts';

describe('keepWarm', () => {
  // One mocked Lambda for every case: each Invoke answers 202 unless a case says otherwise.
  const lambda = mockClient(LambdaClient);
  beforeEach(() => {
    lambda.reset();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  });
  afterAll(() => lambda.restore());
  const depsFor = (list: string) => ({
    lambda: new LambdaClient({ region: 'us-east-1' }),
    warmUpFunctions: warmUpFunctionsFrom(list),
  });
  const sent = () =>
    lambda
      .commandCalls(InvokeCommand)
      .map((c) => [c.args[0].input.FunctionName, JSON.parse(String(c.args[0].input.Payload))]);

  it('sends each function one warm-up through Lambda’s asynchronous queue, and skips a refused one', async () => {
    lambda
      .on(InvokeCommand, { FunctionName: 'sy-notify' })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    expect(await keepWarm(depsFor('sy-check-health,sy-notify,sy-shift-traffic'), 0, 'Event')).toBe(2);
    expect(sent().map(([name]) => name)).toEqual(['sy-check-health', 'sy-notify', 'sy-shift-traffic']);
    for (const call of lambda.commandCalls(InvokeCommand)) {
      expect(call.args[0].input.InvocationType).toBe('Event');
      expect(isWarmUp(JSON.parse(String(call.args[0].input.Payload)))).toBe(true);
    }
  });

  it('several warm-ups of one function hold their environments a moment, so that they overlap; a single one does not', async () => {
    await keepWarm(depsFor('sy-deploy-member*3,sy-notify'), 2, 'Event');
    expect(sent()).toEqual([
      ...Array.from({ length: 3 }, () => [
        'sy-deploy-member',
        { switchyardWarmUp: true, holdMs: WARM_UP_HOLD_MS },
      ]),
      ['sy-notify', { switchyardWarmUp: true }],
    ]);
  });

  it('warms a per-member step only as many times as the largest group running needs: once with no group', async () => {
    const deps = depsFor('sy-deploy-member*4,sy-notify');
    expect(await keepWarm(deps, 0, 'Event')).toBe(2);
    // Alone, a warm-up does not hold its environment.
    expect(sent()).toEqual([
      ['sy-deploy-member', { switchyardWarmUp: true }],
      ['sy-notify', { switchyardWarmUp: true }],
    ]);
    lambda.resetHistory();
    expect(await keepWarm(deps, 1, 'Event')).toBe(3);
    expect(sent().map(([name]) => name)).toEqual(['sy-deploy-member', 'sy-deploy-member', 'sy-notify']);
  });

  it('start-release’s round goes out only when its claim is granted, and a failed claim sends none', async () => {
    const base = { ...depsFor('sy-validate,sy-notify'), now: () => new Date('2026-12-04T10:00:00Z') };
    const asked: [number, number, number][] = [];
    const store = (answer: () => Promise<boolean>) => ({
      claimWarmUps: (nowMs: number, everyMs: number, group: number) => {
        asked.push([nowMs, everyMs, group]);
        return answer();
      },
    });
    expect(await keepWarmOnce({ ...base, store: store(async () => true) }, 3)).toBe(2);
    expect(await keepWarmOnce({ ...base, store: store(async () => false) }, 3)).toBe(0);
    const throttled = Object.assign(new Error('Throughput exceeds the current capacity'), {
      name: 'ProvisionedThroughputExceededException',
    });
    expect(await keepWarmOnce({ ...base, store: store(() => Promise.reject(throttled)) }, 0)).toBe(0);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    // Run at once, not queued: a release's Validate comes about half a second after its start.
    for (const call of lambda.commandCalls(InvokeCommand))
      expect(call.args[0].input.InvocationType).toBe('RequestResponse');
    const at = Date.parse('2026-12-04T10:00:00Z');
    // The claim carries the round's group size (a bigger group may claim the minute again).
    expect(asked).toEqual([
      [at, WARM_UP_EVERY_MS, 3],
      [at, WARM_UP_EVERY_MS, 3],
      [at, WARM_UP_EVERY_MS, 0],
    ]);
  });

  it('run at once, a warm-up whose function failed is not counted as sent', async () => {
    // The SDK hands the payload back as bytes with a string view; only the bytes are read here.
    const payload = (text: string) => new TextEncoder().encode(text) as never;
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload('{"warmedUp":true}') });
    lambda.on(InvokeCommand, { FunctionName: 'sy-notify' }).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload('{"errorType":"Error","errorMessage":"init failed"}'),
    });
    expect(await keepWarm(depsFor('sy-validate,sy-notify'), 0, 'RequestResponse')).toBe(1);
  });

  it('the reconciler warms a release’s first functions every fourth minute, and while releases wait every function on every tick, each as often as the more of the two asks', async () => {
    let now = new Date('2026-12-04T10:04:00Z');
    const deps = {
      ...depsFor('sy-validate,sy-deploy-member*3,sy-notify'),
      warmAlways: warmUpFunctionsFrom('sy-start-release,sy-validate,sy-deploy-member*4'),
      now: () => now,
    };
    const counted = () => {
      const by: Record<string, number> = {};
      for (const [name] of sent()) by[name] = (by[name] ?? 0) + 1;
      return by;
    };
    // No release waits: the first functions only, each as listed (deploy-member once per member).
    expect(await reconcilerWarmUps(deps, undefined)).toBe(6);
    expect(counted()).toEqual({ 'sy-start-release': 1, 'sy-validate': 1, 'sy-deploy-member': 4 });
    lambda.resetHistory();
    // The three minutes after: none (an environment warmed every fourth minute stays).
    for (const at of ['10:05', '10:06', '10:07']) {
      now = new Date(`2026-12-04T${at}:00Z`);
      expect(await reconcilerWarmUps(deps, undefined), at).toBe(0);
    }
    expect(sent()).toEqual([]);
    // A one-member group waits: every function, deploy-member at the more of 4 and 2.
    expect(await reconcilerWarmUps(deps, { largestGroup: 1 })).toBe(7);
    expect(counted()).toEqual({
      'sy-start-release': 1,
      'sy-validate': 1,
      'sy-deploy-member': 4,
      'sy-notify': 1,
    });
    for (const call of lambda.commandCalls(InvokeCommand))
      expect(call.args[0].input.InvocationType).toBe('Event');
  });

  it('reads the function names from WARM_UP_FUNCTIONS, name*N as N warm-ups; none when it is unset or empty', () => {
    expect(warmUpFunctionsFrom('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(warmUpFunctionsFrom('a*3,b')).toEqual(['a', 'a', 'a', 'b']);
    expect(warmUpFunctionsFrom('')).toEqual([]);
    expect(warmUpFunctionsFrom(undefined)).toEqual([]);
    for (const bad of ['a*0', 'a*11', 'a*x', 'a b'])
      expect(() => warmUpFunctionsFrom(bad), bad).toThrow(
        `WARM_UP_FUNCTIONS: "${bad}" is not a function name, or name*N with N from 1 to 10`,
      );
  });

  it('the stack’s list asks one environment per member of the largest group, and one more, of the per-member steps', () => {
    const name = (folder: string) => `sy-${folder}`;
    expect(warmUpList(0, name)).not.toContain('*');
    const list = warmUpFunctionsFrom(warmUpList(2, name));
    const count = (n: string) => list.filter((x) => x === n).length;
    expect(count('sy-deploy-member')).toBe(3);
    expect(count('sy-register-wait')).toBe(3);
    expect(count('sy-shift-traffic')).toBe(1);
    expect(new Set(list).size).toBe(keptWarmFunctions().length);
  });
});
