/**
 * Lambda's execution environments in a release (local/execution-environments.ts, local/lambda.ts):
 * a function's first invocation starts cold and spends its init in virtual time, billed; later ones
 * are warm until the environment has idled 5 minutes; a crashed invocation's environment is reset;
 * Lambda's throttling at the account's concurrency reaches the state machines, whose Retry blocks
 * absorb it; and each environment has its own SDK retry quota, as each has its own clients in AWS.
 */
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { isWarmUp } from '../../functions/shared/warm-up.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { INIT_MS } from '../../local/execution-environments.ts';
import { invocation } from '../../local/faults.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const release = async (world: TestWorld, tag: string) => {
  world.rt.push('checkout-api', tag);
  await world.rt.settle();
  return (await world.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', tag))))
    ?.outcome;
};

describe('execution environments in a release', () => {
  it('starts each function cold, bills the init, reuses a warm environment, and shuts down one idle 5 minutes', async () => {
    w = await startWorld();
    const { lambda } = w.rt;
    const { environments } = lambda;
    // Which functions had a warm environment when each cold start happened.
    const acquire = environments.acquire.bind(environments);
    const coldWhileWarm: string[] = [];
    let warmStarts = 0;
    environments.acquire = (folder, user) => {
      const alive = environments.idleOf(folder).length;
      const got = acquire(folder, user);
      if (got.cold && alive > 0) coldWhileWarm.push(folder);
      if (!got.cold) warmStarts++;
      return got;
    };
    expect(await release(w, 'v2')).toBe('Promoted');
    const invoked = [...lambda.byFunction.keys()];
    expect(invoked.length).toBeGreaterThan(10);
    // Every function started cold at least once, and never while a warm environment was idle.
    for (const folder of invoked)
      expect(environments.coldStartsBy.get(folder), folder).toBeGreaterThanOrEqual(1);
    expect(coldWhileWarm).toEqual([]);
    // The reconciler, invoked every minute, stays warm from its first invocation on.
    expect(environments.coldStartsBy.get('reconciler')).toBe(1);
    expect(warmStarts).toBeGreaterThan(10);
    // Each cold start's init is billed on top of the invocations' own durations.
    expect(lambda.billedMs).toBeGreaterThanOrEqual(environments.coldStarts * INIT_MS);

    // check-health ran once, mid-release, and the reconciler's warm-ups (keep-warm.ts) kept an
    // environment of it while the release waited. With no release running, only the functions of a
    // release's first second are warmed (startChainFunctions): 5 idle minutes on, Lambda has shut
    // check-health's down, and the next release starts it cold; acquire-lock's was kept.
    expect(environments.idleOf('check-health')).toHaveLength(1);
    await w.rt.wait(7 * 60);
    expect(environments.idleOf('check-health')).toEqual([]);
    expect(environments.idleOf('acquire-lock')).toHaveLength(1);
    expect(environments.idleOf('reconciler')).toHaveLength(1);
    const before = new Map(environments.coldStartsBy);
    expect(await release(w, 'v3')).toBe('Promoted');
    // The first release's AcquireLock started cold (no tick had run yet); the second's warm.
    expect(lambda.coldStartsByState.get('AcquireLock')).toBe(1);
    expect(environments.coldStartsBy.get('acquire-lock')).toBe(before.get('acquire-lock'));
    // CheckHealth runs minutes into a release, after the waits' ticks had warmed it again: its
    // environment was started anew (a cold start of the function), by a warm-up, not by the step.
    expect(environments.coldStartsBy.get('check-health')).toBe((before.get('check-health') ?? 0) + 1);
    expect(lambda.coldStartsByState.get('CheckHealth') ?? 0).toBe(0);
    expect(environments.coldStartsBy.get('reconciler')).toBe(1);
    expect(coldWhileWarm).toEqual([]);

    // A new world given, at its start, the environments the first release needed (the bench's warm
    // run): a function that runs within 5 minutes starts warm; one first needed later finds its
    // environment shut down. Prewarmed on the virtual clock, they idle from the world's start.
    const needed = Object.fromEntries(lambda.environments.coldStartsBy);
    await w.rt.dispose();
    w = await startWorld({ warmEnvironments: needed });
    const warm = w.rt.lambda.environments;
    const startedAt = Date.now();
    const warmAcquire = warm.acquire.bind(warm);
    const coldAt = new Map<string, number>();
    warm.acquire = (folder, user) => {
      const got = warmAcquire(folder, user);
      if (got.cold && !coldAt.has(folder)) coldAt.set(folder, Date.now() - startedAt);
      return got;
    };
    expect(await release(w, 'v2')).toBe('Promoted');
    expect(warm.coldStarts).toBeLessThan(lambda.environments.coldStarts);
    for (const folder of ['acquire-lock', 'validate', 'deploy-inactive-colour'])
      expect(coldAt.get(folder), folder).toBeUndefined();
    // release-lock runs after the 5-minute bake: its environment would have idled past 5 minutes,
    // but the reconciler's warm-ups in the bake kept it (keep-warm.ts): it never started cold.
    expect(coldAt.get('release-lock')).toBeUndefined();
    expect(w.rt.lambda.coldStartsByState.get('ReleaseLock')).toBeUndefined();
  });

  it.each(['crash-after-effect', 'timeout'] as const)(
    'resets the environment of an invocation that ended in a %s: its retry starts cold',
    async (kind) => {
      w = await startWorld({ faults: { lambda: [{ state: 'ShiftTraffic', kind, times: 1 }] } });
      expect(await release(w, 'v2')).toBe('Promoted');
      const environments = w.rt.lambda.environments;
      expect(environments.coldStartsBy.get('shift-traffic')).toBe(2);
      expect(environments.coldStartsBy.get('check-health')).toBe(1);
      // Every environment was handed back: nothing holds the account's concurrency.
      expect(environments.concurrency).toBe(0);
    },
  );

  it('gives each environment its own retry strategy, of the kind its client would build', async () => {
    w = await startWorld();
    w.rt.push('checkout-api', 'v2');
    // Right after AcquireLock ran, while its environment is warm (start-release's warm-up of
    // acquire-lock started another, which ran no step and used no client).
    expect(
      await w.rt.runUntil(
        () =>
          w?.rt.lambda.invocationsByState.get('AcquireLock') === 1 &&
          (w?.rt.lambda.running.get('acquire-lock') ?? 0) === 0,
        600,
      ),
    ).toBe(true);
    const clients = await import('../../functions/shared/clients.ts');
    interface Strategy {
      constructor: unknown;
      mode: string;
      baseDelay: number;
      maxAttemptsProvider: () => Promise<number>;
    }
    const own = async (client: { config: object }) =>
      (await (
        client.config as { switchyardOwnRetryStrategy: () => Promise<Strategy> }
      ).switchyardOwnRetryStrategy()) as Strategy;
    const shape = async (strategy: Strategy) => ({
      kind: strategy.constructor,
      mode: strategy.mode,
      baseDelay: strategy.baseDelay,
      maxAttempts: await strategy.maxAttemptsProvider(),
    });
    // acquire-lock's environment used DynamoDB (its document client) and Step Functions.
    const environment = w.rt.lambda.environments.idleOf('acquire-lock').find((e) => e.state.size > 0);
    for (const client of [clients.dynamo, clients.sfn]) {
      const strategy = (await environment?.state.get(client)) as Strategy | undefined;
      expect(strategy, client.constructor.name).toBeDefined();
      expect(strategy).not.toBe(await own(client));
      expect(await shape(strategy as Strategy)).toEqual(await shape(await own(client)));
    }
    // DynamoDB's own defaults differ from the other clients': its strategy kept them.
    const dynamo = (await environment?.state.get(clients.dynamo)) as Strategy;
    expect(await shape(dynamo)).toMatchObject({ mode: 'standard', baseDelay: 25, maxAttempts: 4 });
  });

  it('throttles invocations past the account’s concurrency; the state machine retries them', async () => {
    // One concurrent execution: the function answering an event and a step collide.
    w = await startWorld({ lambdaLimits: { account: 1, scalingBurst: 1_000, scalingPerSecond: 100 } });
    w.rt.push('checkout-api', 'v2');
    w.rt.push('search-api', 'release-2');
    await w.rt.settle();
    const throttled = w.rt.lambda.environments.throttled.concurrency;
    expect(throttled).toBeGreaterThan(0);
    expect(w.rt.lambda.environments.peakConcurrency).toBe(1);
    // Some were the state machines' invocations (retried by their Retry blocks), some an event's
    // (queued again by Lambda): none was lost.
    const requeued = w.rt.lambda.requeuedAfterThrottle;
    expect(requeued).toBeGreaterThan(0);
    expect(throttled - requeued).toBeGreaterThan(0);
    expect(w.rt.bus.deadLetters).toEqual([]);
    const outcome = async (target: string, tag: string) =>
      (await w?.rt.release(releaseIdFor(target, EcrModel.digestOf(target, tag))))?.outcome;
    expect(await outcome('checkout-api', 'v2')).toBe('Promoted');
    expect(await outcome('search-api', 'release-2')).toBe('Promoted');
    expect(liveWeights(w.rt, w.checkout)).toMatchObject({ green: 100 });
  });
});

describe('asynchronous invocations in a release', () => {
  /** Each asynchronous invocation's function, when Lambda accepted its event, and when it ran. */
  const recordAsync = (world: TestWorld) => {
    const calls: { folder: string; ageMs: number }[] = [];
    const invokeAsync = world.rt.lambda.invokeAsync.bind(world.rt.lambda);
    world.rt.lambda.invokeAsync = (folder, event, queuedAt) => {
      // Events only: the warm-ups (keep-warm.ts) go through the same queue.
      if (!isWarmUp(event)) calls.push({ folder, ageMs: Date.now() - (queuedAt ?? Date.now()) });
      return invokeAsync(folder, event, queuedAt);
    };
    return calls;
  };

  it('an event whose function failed runs again a minute later, its age counted from the first attempt', async () => {
    w = await startWorld({
      faults: { lambda: [{ folder: 'wait-resume', kind: 'crash-after-effect', times: 1 }] },
    });
    const calls = recordAsync(w);
    expect(await release(w, 'v2')).toBe('Promoted');
    // One retry, a minute after the failed attempt ended (its cold start and run took about a second).
    const retried = calls.filter((c) => c.folder === 'wait-resume' && c.ageMs > 0);
    expect(retried).toHaveLength(1);
    expect(retried[0]?.ageMs).toBeGreaterThanOrEqual(60_000);
    expect(retried[0]?.ageMs).toBeLessThan(63_000);
  });

  it('a step’s asynchronous event (only ever a warm-up) that failed is not tried again: the stack sets no retries', async () => {
    w = await startWorld({ automation: false });
    const attempts: string[] = [];
    const invokeAsync = w.rt.lambda.invokeAsync.bind(w.rt.lambda);
    w.rt.lambda.invokeAsync = (folder, event, queuedAt) => {
      attempts.push(folder);
      return invokeAsync(folder, event, queuedAt);
    };
    // Not a warm-up: record-outcome refuses it (InvalidInput), and Lambda drops it at once.
    w.rt.account.lambda.Invoke({
      FunctionName: 'switchyard-record-outcome',
      InvocationType: 'Event',
      Payload: JSON.stringify({ not: 'an outcome' }),
    });
    await w.rt.wait(5 * 60);
    expect(attempts).toEqual(['record-outcome']);
    expect(w.rt.account.lambda.deadLetters).toMatchObject([
      { functionName: 'switchyard-record-outcome', attempts: 1, error: expect.stringContaining('invalid') },
    ]);
  });

  it('a failed reconciler run is retried 1 minute later, beside the next tick', async () => {
    w = await startWorld({
      faults: { lambda: [{ folder: 'reconciler', kind: 'crash-after-effect', times: 1 }] },
    });
    const calls = recordAsync(w);
    await w.rt.wait(4 * 60 + 30);
    const runs = calls.filter((c) => c.folder === 'reconciler');
    // Ticks at 1, 2, 3 and 4 minutes; the first failed and ran again a minute after it ended, with
    // the time of its first attempt.
    expect(runs).toHaveLength(5);
    expect(runs.filter((c) => c.ageMs > 0)).toEqual([
      { folder: 'reconciler', ageMs: expect.toSatisfy((ms: number) => ms >= 60_000 && ms < 63_000) },
    ]);
    expect(w.rt.reconcilerFailures).toBe(1);
  });
});

describe('the SDK’s retry quota', () => {
  it('is one per execution environment: one that used its quota up leaves another’s whole', async () => {
    w = await startWorld({ automation: false });
    const { rt, checkout } = w;
    const { ecs } = await import('../../functions/shared/clients.ts');
    const describe = () =>
      ecs.send(
        new DescribeServicesCommand({
          cluster: checkout.ecs.cluster,
          services: [checkout.ecs.services.blue],
        }),
      );
    const throttle = (times: number) =>
      rt.faults.arm({
        api: [
          {
            service: 'ECS',
            operation: 'DescribeServices',
            folder: 'validate',
            error: 'ThrottlingException',
            status: 400,
            times,
          },
        ],
      });
    const attemptsIn = async (environment: unknown) => {
      try {
        await rt.until(invocation.run({ folder: 'validate', environment: environment as never }, describe));
        return { ok: true };
      } catch (error) {
        return { ok: false, attempts: (error as { $metadata: { attempts: number } }).$metadata.attempts };
      }
    };
    // Two invocations of one function at once: two environments.
    const a = rt.lambda.environments.acquire('validate').environment;
    const b = rt.lambda.environments.acquire('validate').environment;

    // 50 calls throttled 3 times each (2 retries, 5 tokens each) spend a's 500 tokens.
    throttle(151);
    for (let i = 0; i < 50; i++) expect(await attemptsIn(a)).toEqual({ ok: false, attempts: 3 });
    // a has no retry left: its next throttled call fails at the first attempt.
    expect(await attemptsIn(a)).toEqual({ ok: false, attempts: 1 });
    // b has all of its own: a throttled call is retried and answered.
    throttle(1);
    expect(await attemptsIn(b)).toEqual({ ok: true });
    expect(rt.faults.fired.length).toBe(152);
  });
});
