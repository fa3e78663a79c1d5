/**
 * Lambda's execution environments in the local runtime (local/execution-environments.ts): reuse,
 * reset, and the throttling Lambda applies at the account's concurrency and the scaling rate.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LambdaModel } from '../../local/account/lambda.ts';
import {
  EVENT_EXPIRED,
  ExecutionEnvironments,
  INIT_MS,
  initAtFunctionMemory,
  LAMBDA_LIMITS,
} from '../../local/execution-environments.ts';
import { LocalLambda } from '../../local/lambda.ts';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as Error & { $metadata: { httpStatusCode: number } };
  }
  throw new Error('expected Lambda to refuse the invocation');
};

describe('execution environments', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-05T09:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('reuses an idle environment, and starts a new one (cold) for an invocation that overlaps', () => {
    const envs = new ExecutionEnvironments();
    const first = envs.acquire('validate');
    expect(first.cold).toBe(true);
    const overlapping = envs.acquire('validate');
    expect(overlapping.cold).toBe(true);
    expect(overlapping.environment.id).not.toBe(first.environment.id);
    envs.release(first.environment);
    const next = envs.acquire('validate');
    expect(next).toMatchObject({ cold: false, environment: { id: first.environment.id, invocations: 2 } });
    // Another function never gets validate's environment.
    expect(envs.acquire('deploy-inactive-colour').cold).toBe(true);
    expect(envs.coldStarts).toBe(3);
    expect(envs.coldStartsBy.get('validate')).toBe(2);
    expect(envs.peakConcurrency).toBe(3);
  });

  it('resets an environment whose invocation crashed or timed out: the next one starts cold', () => {
    const envs = new ExecutionEnvironments();
    const crashed = envs.acquire('shift-traffic').environment;
    envs.release(crashed, true);
    const next = envs.acquire('shift-traffic');
    expect(next.cold).toBe(true);
    expect(next.environment.id).not.toBe(crashed.id);
    expect(envs.idleOf('shift-traffic')).toEqual([]);
  });

  it('refuses an invocation at the account’s concurrency, even with a warm environment idle', () => {
    const envs = new ExecutionEnvironments({ account: 2, scalingBurst: 10, scalingPerSecond: 1 });
    const a = envs.acquire('validate').environment;
    envs.release(a);
    envs.acquire('validate');
    const held = envs.acquire('check-health').environment;
    expect(envs.idleOf('validate')).toEqual([]);
    const error = refusal(() => envs.acquire('validate'));
    expect(error.name).toBe('Lambda.TooManyRequestsException');
    expect(error.$metadata.httpStatusCode).toBe(429);
    expect(error.message).toContain('2 concurrent executions');
    envs.release(held);
    // check-health's environment is idle now, and validate may have one again.
    expect(envs.acquire('validate').cold).toBe(true);
    expect(envs.throttled).toEqual({ concurrency: 1, scaling: 0 });
  });

  it('refuses new environments faster than the function’s scaling rate, refilled continuously', () => {
    const envs = new ExecutionEnvironments({ account: 100, scalingBurst: 2, scalingPerSecond: 1 });
    envs.acquire('validate');
    envs.acquire('validate');
    expect(refusal(() => envs.acquire('validate')).message).toContain('scaling faster');
    // Another function scales on its own.
    expect(envs.acquire('check-health').cold).toBe(true);
    vi.setSystemTime(Date.now() + 1_000);
    expect(envs.acquire('validate').cold).toBe(true);
    expect(refusal(() => envs.acquire('validate')).name).toBe('Lambda.TooManyRequestsException');
    expect(envs.throttled).toEqual({ concurrency: 0, scaling: 2 });
  });

  it('uses Lambda’s published defaults, and an init that covers the slowest measured one at 512 MB', () => {
    expect(LAMBDA_LIMITS).toEqual({ account: 1_000, scalingBurst: 1_000, scalingPerSecond: 100 });
    // 1,769 MB is one vCPU: at 512 MB, Node's start (33 ms) and a 202 ms init on one core take 812 ms.
    expect(initAtFunctionMemory(33 + 202)).toBeCloseTo(812, 0);
    expect(INIT_MS).toBeGreaterThanOrEqual(initAtFunctionMemory(33 + 202));
  });

  it('a user’s function (a Lambda hook) takes concurrency, but its cold start is not Switchyard’s', () => {
    const envs = new ExecutionEnvironments({ account: 1, scalingBurst: 10, scalingPerSecond: 1 });
    const hook = envs.acquire('hook:edge-web-smoke', true);
    expect(hook.cold).toBe(true);
    expect(envs.coldStarts).toBe(0);
    expect(refusal(() => envs.acquire('validate')).message).toMatch(/^Rate Exceeded: switchyard-validate \(/);
    // A user's function is named as the user named it.
    expect(refusal(() => envs.acquire('hook:edge-web-load', true)).message).toMatch(
      /^Rate Exceeded: edge-web-load \(/,
    );
    envs.release(hook.environment);
    expect(envs.idleOf('hook:edge-web-smoke')).toHaveLength(1);
  });
});

describe('an asynchronous invocation Lambda throttles', () => {
  afterEach(() => vi.useRealTimers());

  /** Lambda with no concurrency at all (every attempt is refused), on fake timers. */
  const refusingLambda = () => {
    vi.useFakeTimers({ now: new Date('2026-01-05T09:00:00Z') });
    return new LocalLambda('us-east-1', '123456789012', undefined, {
      account: 0,
      scalingBurst: 10,
      scalingPerSecond: 1,
    });
  };

  it('waits in the queue, 1 s doubling to 5 min, and is discarded once it would pass 6 hours', async () => {
    const lambda = refusingLambda();
    const start = Date.now();
    const attempts: number[] = [];
    const acquire = lambda.environments.acquire.bind(lambda.environments);
    vi.spyOn(lambda.environments, 'acquire').mockImplementation((folder, user) => {
      attempts.push((Date.now() - start) / 1000);
      return acquire(folder, user);
    });
    const done = lambda.invokeAsync('wait-resume', { detail: {} });
    await vi.advanceTimersByTimeAsync(7 * 3600 * 1000);
    expect(await done).toBe(EVENT_EXPIRED);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    expect(gaps.slice(0, 10)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
    expect(new Set(gaps.slice(9))).toEqual(new Set([300]));
    // The last attempt within 6 hours; the next would have been past it.
    const last = attempts.at(-1) as number;
    expect(last).toBeLessThanOrEqual(6 * 3600);
    expect(last + 300).toBeGreaterThan(6 * 3600);
    expect(lambda.expiredEvents).toEqual([
      expect.objectContaining({
        folder: 'wait-resume',
        queuedAt: start,
        error: expect.stringContaining('Rate Exceeded'),
      }),
    ]);
    expect(lambda.requeuedAfterThrottle).toBe(attempts.length - 1);
  });

  it('is discarded after 10 minutes for a function the stack gives that maximum age (slack-decisions)', async () => {
    const lambda = refusingLambda();
    const start = Date.now();
    const done = lambda.invokeAsync('slack-decisions', {});
    await vi.advanceTimersByTimeAsync(3600 * 1000);
    expect(await done).toBe(EVENT_EXPIRED);
    // Attempts at 0, 1, 3, 7 … 511 s; the next (811 s) would be past 600 s.
    expect(lambda.environments.throttled.concurrency).toBe(10);
    expect(lambda.expiredEvents[0]?.queuedAt).toBe(start);
  });

  it('that expired goes to the dead-letter list of an InvocationType Event call', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-05T09:00:00Z') });
    const model = new LambdaModel(() => true);
    model.run = async () => EVENT_EXPIRED;
    expect(
      model.Invoke({ FunctionName: 'switchyard-slack-decisions', InvocationType: 'Event', Payload: '{}' }),
    ).toEqual({ StatusCode: 202 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(model.deadLetters).toEqual([
      expect.objectContaining({ functionName: 'switchyard-slack-decisions', attempts: 1 }),
    ]);
    expect(model.inFlight).toBe(0);
  });
});
