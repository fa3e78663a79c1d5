/**
 * keep-warm.ts: one asynchronous Invoke per function named, carrying the warm-up event; a refused
 * one is skipped and logged, and the others still go.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  keepWarm,
  keepWarmOnce,
  WARM_UP_EVERY_MS,
  warmUpFunctionsFrom,
} from '../../functions/shared/keep-warm.ts';
import { isWarmUp, WARM_UP_HOLD_MS } from '../../functions/shared/warm-up.ts';
import { keptWarmFunctions, warmUpList } from '../../state-machines/definitions.ts';

describe('keepWarm', () => {
  it('sends each function one warm-up through Lambda’s asynchronous queue, and skips a refused one', async () => {
    const lambda = mockClient(LambdaClient);
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 202 })
      .on(InvokeCommand, { FunctionName: 'sy-notify' })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    const accepted = await keepWarm({
      lambda: new LambdaClient({ region: 'us-east-1' }),
      warmUpFunctions: ['sy-check-health', 'sy-notify', 'sy-shift-traffic'],
    });
    expect(accepted).toBe(2);
    const sent = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(sent.map((i) => i.FunctionName)).toEqual(['sy-check-health', 'sy-notify', 'sy-shift-traffic']);
    for (const input of sent) {
      expect(input.InvocationType).toBe('Event');
      expect(isWarmUp(JSON.parse(String(input.Payload)))).toBe(true);
    }
    lambda.restore();
  });

  it('several warm-ups of one function hold their environments a moment, so that they overlap; a single one does not', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await keepWarm({
      lambda: new LambdaClient({ region: 'us-east-1' }),
      warmUpFunctions: warmUpFunctionsFrom('sy-deploy-member*3,sy-notify'),
    });
    const payloads = lambda
      .commandCalls(InvokeCommand)
      .map((c) => [c.args[0].input.FunctionName, JSON.parse(String(c.args[0].input.Payload))]);
    expect(payloads).toEqual([
      ...Array.from({ length: 3 }, () => [
        'sy-deploy-member',
        { switchyardWarmUp: true, holdMs: WARM_UP_HOLD_MS },
      ]),
      ['sy-notify', { switchyardWarmUp: true }],
    ]);
    lambda.restore();
  });

  it('warms a per-member step only as many times as the largest group running needs: once with no group', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const deps = {
      lambda: new LambdaClient({ region: 'us-east-1' }),
      warmUpFunctions: warmUpFunctionsFrom('sy-deploy-member*4,sy-notify'),
    };
    const sent = () => lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input.FunctionName);
    expect(await keepWarm(deps, 0)).toBe(2);
    expect(sent()).toEqual(['sy-deploy-member', 'sy-notify']);
    // Alone, a warm-up does not hold its environment.
    expect(JSON.parse(String(lambda.commandCalls(InvokeCommand)[0]?.args[0].input.Payload))).toEqual({
      switchyardWarmUp: true,
    });
    lambda.resetHistory();
    expect(await keepWarm(deps, 1)).toBe(3);
    expect(sent()).toEqual(['sy-deploy-member', 'sy-deploy-member', 'sy-notify']);
    lambda.restore();
  });

  it('start-release’s round goes out only when its claim is granted, and a failed claim sends none', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const base = {
      lambda: new LambdaClient({ region: 'us-east-1' }),
      warmUpFunctions: ['sy-validate', 'sy-notify'],
      now: () => new Date('2026-12-04T10:00:00Z'),
    };
    const asked: [number, number][] = [];
    const store = (answer: () => Promise<boolean>) => ({
      claimWarmUps: (nowMs: number, everyMs: number) => {
        asked.push([nowMs, everyMs]);
        return answer();
      },
    });
    expect(await keepWarmOnce({ ...base, store: store(async () => true) })).toBe(2);
    expect(await keepWarmOnce({ ...base, store: store(async () => false) })).toBe(0);
    const throttled = Object.assign(new Error('Throughput exceeds the current capacity'), {
      name: 'ProvisionedThroughputExceededException',
    });
    expect(await keepWarmOnce({ ...base, store: store(() => Promise.reject(throttled)) })).toBe(0);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    expect(asked).toEqual([
      [Date.parse('2026-12-04T10:00:00Z'), WARM_UP_EVERY_MS],
      [Date.parse('2026-12-04T10:00:00Z'), WARM_UP_EVERY_MS],
      [Date.parse('2026-12-04T10:00:00Z'), WARM_UP_EVERY_MS],
    ]);
    lambda.restore();
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
