/**
 * Lambda's execution environments in the local runtime (local/execution-environments.ts): reuse,
 * reset, and the throttling Lambda applies at the account's concurrency and the scaling rate.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FUNCTION_MEMORY_MB } from '../../infra/function-runtime.ts';
import { LambdaModel } from '../../local/account/lambda.ts';
import { EventBus } from '../../local/bus.ts';
import {
  EVENT_EXPIRED,
  ExecutionEnvironments,
  IDLE_LIFETIME_MS,
  INIT_MS,
  initAtFunctionMemory,
  LAMBDA_LIMITS,
  lambdaThrottled,
  MAX_LIFETIME_MS,
  ONE_CORE_INIT_MS,
} from '../../local/execution-environments.ts';
import { Faults } from '../../local/faults.ts';
import { LocalLambda } from '../../local/lambda.ts';
import { seededRandom } from '../../local/rng.ts';

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

  it('shuts down an environment idle for 5 minutes: the next invocation starts cold', () => {
    const envs = new ExecutionEnvironments();
    const first = envs.acquire('check-health').environment;
    envs.release(first);
    vi.advanceTimersByTime(IDLE_LIFETIME_MS - 1);
    const warm = envs.acquire('check-health');
    expect(warm).toMatchObject({ cold: false, environment: { id: first.id } });
    // Idle again from the end of that invocation, not from its init.
    envs.release(warm.environment);
    vi.advanceTimersByTime(IDLE_LIFETIME_MS - 1);
    expect(envs.idleOf('check-health')).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(envs.idleOf('check-health')).toEqual([]);
    const next = envs.acquire('check-health');
    expect(next.cold).toBe(true);
    expect(next.environment.id).not.toBe(first.id);
    expect(envs.coldStartsBy.get('check-health')).toBe(2);
  });

  it('takes the most recently used environment still alive; older idle ones are shut down', () => {
    const envs = new ExecutionEnvironments();
    const a = envs.acquire('register-wait').environment;
    const b = envs.acquire('register-wait').environment;
    envs.release(a);
    vi.advanceTimersByTime(IDLE_LIFETIME_MS - 60_000);
    envs.release(b);
    vi.advanceTimersByTime(60_000);
    // a idled 5 minutes and is gone; b idled 1 minute and serves.
    expect(envs.idleOf('register-wait').map((e) => e.id)).toEqual([b.id]);
    expect(envs.acquire('register-wait')).toMatchObject({ cold: false, environment: { id: b.id } });
    expect(envs.acquire('register-wait').cold).toBe(true);
  });

  it('shuts down an environment after its lifetime however busy it is, once its invocation ends', () => {
    const envs = new ExecutionEnvironments();
    const first = envs.acquire('reconciler').environment;
    envs.release(first);
    // Invoked every minute for two hours: the same environment throughout.
    for (let minute = 1; minute * 60_000 < MAX_LIFETIME_MS - 60_000; minute++) {
      vi.advanceTimersByTime(60_000);
      const got = envs.acquire('reconciler');
      expect(got.environment.id).toBe(first.id);
      envs.release(got.environment);
    }
    vi.advanceTimersByTime(60_000);
    expect(envs.coldStartsBy.get('reconciler')).toBe(1);
    // An invocation that began before the lifetime ran out finishes; the environment then goes.
    const last = envs.acquire('reconciler');
    expect(last.cold).toBe(false);
    vi.advanceTimersByTime(60_000);
    envs.release(last.environment);
    expect(envs.idleOf('reconciler')).toEqual([]);
    expect(envs.acquire('reconciler').cold).toBe(true);
    expect(envs.coldStartsBy.get('reconciler')).toBe(2);
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

  it('uses Lambda’s published defaults, and an init that covers the slowest measured one at the functions’ memory', () => {
    expect(LAMBDA_LIMITS).toEqual({ account: 1_000, scalingBurst: 1_000, scalingPerSecond: 100 });
    // The functions have one vCPU (1,769 MB): an init measured on one core takes as long.
    expect(FUNCTION_MEMORY_MB).toBe(1_769);
    expect(initAtFunctionMemory(265)).toBe(265);
    expect(INIT_MS).toBe(ONE_CORE_INIT_MS);
    // Node's start and the slowest init measured as deployed, source maps on (bench/cold-start.ts),
    // on a busy machine.
    expect(INIT_MS).toBeGreaterThanOrEqual(37 + 273);
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

  it('keeps its age across the retries after a function error: one past its maximum age is not run again', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-05T09:00:00Z') });
    const accepted = Date.now();
    const model = new LambdaModel(() => true);
    const seen: number[] = [];
    model.run = async (_name, _payload, queuedAt) => {
      seen.push(queuedAt);
      throw new Error('Runtime.ExitError');
    };
    model.Invoke({ FunctionName: 'switchyard-wait-resume', InvocationType: 'Event', Payload: '{}' });
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    // Three attempts (the first, then 1 and 2 minutes later), each with the time Lambda accepted it.
    expect(seen).toEqual([accepted, accepted, accepted]);
    expect(model.deadLetters).toHaveLength(1);

    // An attempt for an event accepted 11 minutes ago, for slack-decisions (10 minutes at most):
    // discarded without taking an environment.
    const lambda = new LocalLambda('us-east-1', '123456789012');
    expect(await lambda.invokeAsync('slack-decisions', {}, Date.now() - 11 * 60_000)).toBe(EVENT_EXPIRED);
    expect(lambda.environments.coldStarts).toBe(0);
    expect(lambda.expiredEvents).toEqual([
      expect.objectContaining({ folder: 'slack-decisions', error: 'older than its maximum event age' }),
    ]);
  });

  it('delivered by an EventBridge rule is retried as Lambda retries, its age counted from the first attempt', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-05T09:00:00Z') });
    const bus = new EventBus(seededRandom(1), new Faults(), { region: 'us-east-1', account: '123456789012' });
    const firsts: number[] = [];
    const attempts: number[] = [];
    bus.addRule({
      name: 'any',
      pattern: { source: ['test'] },
      deliver: async (_event, firstAt) => {
        firsts.push(firstAt);
        attempts.push(Date.now());
        throw new Error('Runtime.ExitError');
      },
    });
    const put = bus.put({ source: 'test', 'detail-type': 'x', detail: {} } as never);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await put;
    // Lambda's retries of an asynchronous invocation: twice, 1 and then 2 minutes later (before: 2,
    // 4 and 8 s later, four attempts), then the dead-letter queue.
    expect(attempts.map((t) => (t - (attempts[0] as number)) / 1000)).toEqual([0, 60, 180]);
    expect(bus.deadLetters).toHaveLength(1);
    expect(new Set(firsts)).toEqual(new Set([attempts[0]]));
  });

  it('that expired, delivered by an EventBridge rule, is dead-lettered and never counted delivered', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-05T09:00:00Z') });
    const bus = new EventBus(seededRandom(1), new Faults(), { region: 'us-east-1', account: '123456789012' });
    bus.addRule({ name: 'any', pattern: { source: ['test'] }, deliver: async () => EVENT_EXPIRED });
    await bus.put({ id: 'e-1', source: 'test', 'detail-type': 'x', detail: {} } as never);
    expect(bus.deadLetters).toEqual([expect.objectContaining({ rule: 'any', ok: false })]);
    expect(bus.deliveredAt('e-1', 'any')).toBeUndefined();
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

  it('run synchronously (RequestResponse, the default): at once, its result or its error the answer, a throttle a 429', async () => {
    const model = new LambdaModel(() => true);
    const ran: string[] = [];
    model.runNow = async (name, payload) => {
      ran.push(name);
      if (name.endsWith('fails')) throw new Error('init failed');
      if (name.endsWith('busy')) throw lambdaThrottled('busy', 'concurrency');
      return { echo: payload };
    };
    const decode = (out: { Payload?: Uint8Array }) =>
      JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8'));
    const ok = await model.Invoke({ FunctionName: 'switchyard-validate', Payload: '{"a":1}' });
    expect(ok).toMatchObject({ StatusCode: 200 });
    expect(ok).not.toHaveProperty('FunctionError');
    expect(decode(ok as { Payload: Uint8Array })).toEqual({ echo: { a: 1 } });
    const failed = await model.Invoke({
      FunctionName: 'switchyard-fails',
      InvocationType: 'RequestResponse',
    });
    expect(failed).toMatchObject({ StatusCode: 200, FunctionError: 'Unhandled' });
    expect(decode(failed as { Payload: Uint8Array })).toEqual({
      errorType: 'Error',
      errorMessage: 'init failed',
    });
    await expect(
      model.Invoke({ FunctionName: 'switchyard-busy', InvocationType: 'RequestResponse' }),
    ).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    // Nothing queued, nothing retried, nothing dead-lettered.
    expect(ran).toEqual(['switchyard-validate', 'switchyard-fails', 'switchyard-busy']);
    expect(model.inFlight).toBe(0);
    expect(model.deadLetters).toEqual([]);
    expect(() => model.Invoke({ FunctionName: 'switchyard-validate', InvocationType: 'DryRun' })).toThrow(
      'InvocationType Event or RequestResponse, not DryRun',
    );
  });
});
