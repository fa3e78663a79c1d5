/** Whole releases in the simulated account, one named scenario per test. */
import { afterEach, describe, expect, it } from 'vitest';
import { VALIDATIONS } from '../../functions/shared/registration-turns.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const world = async (faults?: FaultPlan) => {
  w = await startWorld({ faults });
  return w;
};

const releaseOf = async (t: TestWorld, tag: string): Promise<ReleaseRecord | undefined> => {
  const digest = EcrModel.digestOf('checkout-api', tag);
  const execution = t.rt.executions().find((e) => JSON.parse(e.input).image.digest === digest);
  return execution && t.rt.release(execution.name);
};

/** Pushes checkout-api:v2 and runs the world until it settles: the release's record. */
const pushed = async (t: TestWorld) => {
  t.rt.push('checkout-api', 'v2');
  await t.rt.settle();
  return releaseOf(t, 'v2');
};

const liveImage = (t: TestWorld) => {
  const weights = liveWeights(t.rt, t.checkout);
  const colour = weights.blue === 100 ? 'blue' : 'green';
  const service = t.rt.account.ecs.DescribeServices({
    cluster: 'prod',
    services: [t.checkout.ecs.services[colour]],
  }).services[0];
  const td = t.rt.account.ecs.taskDefinitions.get(service?.taskDefinition ?? '');
  return td?.containerDefinitions?.[0]?.image;
};

const phase = (release: ReleaseRecord | undefined, name: string) =>
  release?.phases.find((p) => p.name === name);

describe('release on the embedded default', () => {
  it('happy: snapshot and deploy in parallel, verified shift, blue kept warm then scaled down → Promoted', async () => {
    const t = await world();
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    const release = await releaseOf(t, 'v2');

    expect(release?.outcome).toBe('Promoted');
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    expect(runningTasks(t.rt, t.checkout)).toEqual({ blue: 0, green: 4 });
    expect(liveImage(t)).toBe(
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout-api@${EcrModel.digestOf('checkout-api', 'v2')}`,
    );
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();

    // The snapshot and the deployment overlapped: the critical path is the longer one, not the sum.
    const snapshot = phase(release, 'WaitForSnapshot');
    const stable = phase(release, 'WaitForServiceStable');
    // Overlap: each wait started before the other ended (run one after the other, one side fails).
    expect((snapshot?.startedAt ?? 'z') < (stable?.endedAt ?? '')).toBe(true);
    expect((stable?.startedAt ?? 'z') < (snapshot?.endedAt ?? '')).toBe(true);
    expect(release?.snapshotId).toBe(`switchyard-${release?.releaseId}`);
    expect(t.rt.account.rds.snapshots.get(release?.snapshotId ?? '')?.status).toBe('available');
    // The 30-second health grace counted from green's stability, so it passed while the (longer)
    // snapshot ran: the health check follows the snapshot at once, not 30 s later.
    const checked = phase(release, 'CheckHealth');
    expect(Date.parse(stable?.endedAt ?? '') + 30_000).toBeLessThan(Date.parse(snapshot?.endedAt ?? ''));
    expect(Date.parse(checked?.startedAt ?? '') - Date.parse(snapshot?.endedAt ?? '')).toBeLessThan(1000);

    // One weight change, read back before baking; blue stayed warm for the 20-minute bake.
    expect(t.rt.account.calls.get('ELBv2.ModifyRule')).toBe(1);
    const shifted = phase(release, 'ShiftTraffic');
    const scaledDown = phase(release, 'ScaleDownOldColour');
    expect(
      Date.parse(scaledDown?.startedAt ?? '') - Date.parse(shifted?.endedAt ?? ''),
    ).toBeGreaterThanOrEqual(20 * 60_000);
    // On start, on each traffic step, and on the outcome.
    expect(t.rt.account.sns.published.map((m) => m.subject)).toEqual([
      '[switchyard] checkout-api (prod) v2: started',
      '[switchyard] checkout-api (prod): 100% on green',
      '[switchyard] checkout-api (prod) v2: Promoted',
    ]);
    expect(t.rt.account.sns.published[0]?.message).toContain('Rollback plan: weights back to blue');
  });

  it('bad-image: health checks fail → Aborted, traffic never left blue, green back to 0, snapshot kept', async () => {
    const t = await world({ unhealthyTags: ['v2'] });
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain(600);
    const release = await releaseOf(t, 'v2');

    expect(release?.outcome).toBe('Aborted');
    expect(release?.error?.Error).toBe('DeploymentFailed');
    expect(
      t.rt.account.elbv2.weightHistory.filter((h) => h.where === t.checkout.traffic.listenerRuleArn),
    ).toEqual([]);
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(t.rt, t.checkout)).toEqual({ blue: 4, green: 0 });
    expect(release?.snapshotId).toBeDefined();
    expect(t.rt.account.rds.snapshots.get(release?.snapshotId ?? '')?.status).toBe('available');
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
    expect(t.rt.account.sns.published.at(-1)?.message).toContain(`Database snapshot: ${release?.snapshotId}`);
  });

  it('a duplicated ECR event starts one release', async () => {
    const t = await world({ events: [{ detailType: 'ECR Image Action', action: 'duplicate', times: 1 }] });
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    // Two invocations for the two copies of the event (the others are the reconciler's warm-ups).
    const warmUps = t.rt.account.callLog.filter(
      (c) => c.call === 'Lambda.Invoke' && c.functionName === 'switchyard-start-release',
    ).length;
    expect((t.rt.lambda.byFunction.get('start-release') ?? 0) - warmUps).toBe(2);
    expect(t.rt.executions()).toHaveLength(1);
    expect((await releaseOf(t, 'v2'))?.outcome).toBe('Promoted');
  });

  it('a push for an unknown repository or a non-matching tag starts nothing', async () => {
    const t = await world();
    t.rt.account.ecr.addRepository('billing-api');
    t.rt.push('billing-api', 'v2');
    t.rt.push('checkout-api', 'latest');
    await t.rt.settle();
    expect(t.rt.lambda.byFunction.get('start-release')).toBe(1); // the rule only matches configured repositories
    expect(t.rt.executions()).toEqual([]);
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
  });

  it('a malformed event is rejected with an error naming the field, and nothing starts', async () => {
    const t = await world();
    const event = {
      id: 'x',
      source: 'aws.ecr',
      'detail-type': 'ECR Image Action',
      time: '2026-01-05T09:00:00Z',
      detail: {
        'action-type': 'PUSH',
        result: 'SUCCESS',
        'repository-name': 'checkout-api',
        'image-digest': 'sha256:nothex',
        'image-tag': 'v2',
      },
    };
    await expect(t.rt.until(t.rt.invoke('start-release', event) as Promise<unknown>)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('detail.image-digest: must be sha256:<64 hex digits>'),
    });
    await expect(
      t.rt.until(t.rt.invoke('start-release', { hello: 'world' }) as Promise<unknown>),
    ).rejects.toThrow(/source: .*"aws\.ecr"/);
    expect(t.rt.executions()).toEqual([]);
  });

  it('two pushes in quick succession never deploy concurrently, and the newest wins', async () => {
    const t = await world();
    t.rt.push('checkout-api', 'v2');
    await t.rt.wait(5);
    t.rt.push('checkout-api', 'v3');
    await t.rt.settle();
    await t.rt.drain();
    const [v2, v3] = [await releaseOf(t, 'v2'), await releaseOf(t, 'v3')];
    expect(v2?.outcome).toBe('Promoted');
    expect(v3?.outcome).toBe('Promoted');
    // v3 validated only after v2 had finished (its outcome recorded) and handed it the lock.
    expect((phase(v3, 'Validate')?.startedAt ?? '') > (phase(v2, 'RecordOutcome')?.endedAt ?? 'z')).toBe(
      true,
    );
    expect((phase(v3, 'Validate')?.startedAt ?? '') > (phase(v2, 'ReleaseLock')?.startedAt ?? 'z')).toBe(
      true,
    );
    expect(liveImage(t)).toContain(EcrModel.digestOf('checkout-api', 'v3'));
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
  });

  it('a newer queued push supersedes an older queued one', async () => {
    const t = await world();
    t.rt.push('checkout-api', 'v2');
    await t.rt.wait(5);
    t.rt.push('checkout-api', 'v3');
    await t.rt.wait(5);
    t.rt.push('checkout-api', 'v4');
    await t.rt.settle();
    expect((await releaseOf(t, 'v2'))?.outcome).toBe('Promoted');
    expect(await releaseOf(t, 'v3')).toMatchObject({ outcome: 'Superseded', error: { Error: 'Superseded' } });
    expect((await releaseOf(t, 'v4'))?.outcome).toBe('Promoted');
    expect(liveImage(t)).toContain(EcrModel.digestOf('checkout-api', 'v4'));
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
  });

  it('completes when every ECS deployment event is lost (the reconciler resumes the wait)', async () => {
    const t = await world({
      events: [{ detailType: 'ECS Deployment State Change', action: 'drop', times: 100 }],
    });
    const release = await pushed(t);
    expect(release?.outcome).toBe('Promoted');
    expect(t.rt.bus.deliveries.filter((d) => d.rule === 'ecs-deployment')).toEqual([]);
    expect(
      t.rt.faults.fired.filter((f) => f.includes('ECS Deployment State Change: drop')).length,
    ).toBeGreaterThan(0);
    expect(phase(release, 'WaitForServiceStable')?.status).toBe('succeeded');
  });

  it('retries a throttled DescribeServices and still promotes', async () => {
    const t = await world({
      api: [
        {
          service: 'ECS',
          operation: 'DescribeServices',
          error: 'ThrottlingException',
          status: 400,
          times: 3,
        },
      ],
    });
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    expect(t.rt.faults.fired).toEqual(Array(3).fill('Validate: ECS.DescribeServices: ThrottlingException'));
    expect((await releaseOf(t, 'v2'))?.outcome).toBe('Promoted');
  });

  it('a deploy run again after its UpdateService was throttled rolls out the revision it registered, not a second one', async () => {
    const t = await world({
      // Past the SDK's 3 attempts: DeployInactiveColour fails Throttled and Step Functions runs it again.
      api: [{ service: 'ECS', operation: 'UpdateService', error: 'ThrottlingException', times: 3 }],
    });
    const release = await pushed(t);
    expect(release?.outcome).toBe('Promoted');
    expect(t.rt.executions()[0]?.retries).toBe(1);
    // Before: the second run found the idle service still on the old definition and registered
    // another revision, spending the account's RegisterTaskDefinition budget (1/s) again.
    const registered = t.rt.account.callLog.filter((c) => c.call === 'ECS.RegisterTaskDefinition');
    expect(registered).toHaveLength(1);
    expect(release?.taskDefinitionArn).toBe(release?.revisionArn);
    expect(liveImage(t)).toMatch(/@sha256:/);
  });

  it('a release that waited for its turn and then fails validation records Aborted, naming why', async () => {
    const t = await world();
    // A rebuild has taken the next fifteen validation turns (two a second): checkout-api waits ~3 s.
    for (let i = 0; i < 15; i++) await t.rt.store.nextTurn(VALIDATIONS.item, Date.now(), 500);
    t.rt.account.cloudwatch.setState(t.checkout.alarms[0] as string, 'ALARM', 'Threshold Crossed: 5xx 7%');
    const release = await pushed(t);
    expect(release?.phases.map((p) => p.name).slice(0, 3)).toEqual(['AcquireLock', 'Validate', 'Validate']);
    // Before: the waiting answer sat where the plan goes, RecordOutcome refused the state, and the
    // record stayed Running with no outcome (so the image could never be released again).
    expect(release?.outcome).toBe('Aborted');
    expect(release?.error).toMatchObject({ Error: 'AlarmTriggered' });
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
  });

  it('a Validate retried after taking its turns keeps them rather than queueing again', async () => {
    // Validate's rule read throttled past the SDK's attempts: Step Functions runs Validate again.
    const t = await world({
      api: [
        {
          service: 'ELBv2',
          operation: 'DescribeRules',
          folder: 'validate',
          error: 'ThrottlingException',
          times: 3,
        },
      ],
    });
    const release = await pushed(t);
    expect(release?.outcome).toBe('Promoted');
    const validations = release?.phases.filter((p) => p.name === 'Validate') ?? [];
    expect(validations.map((p) => p.status)).toEqual(['failed', 'succeeded']);
    // Its turns are those the first run took (before: the run again took new ones, later).
    const firstRun = Date.parse(validations[0]?.endedAt ?? '');
    expect(Date.parse(release?.registrationTurnAt ?? '')).toBeLessThan(firstRun);
    expect(Date.parse(release?.validationTurnAt ?? '')).toBeLessThan(firstRun);
  });

  it('promotes both targets at once under tight API rate limits; throttled calls are retried, none is fatal', async () => {
    w = await startWorld({
      rateLimits: [
        { service: 'ECS', operations: /^Describe/, burst: 2, perSecond: 1, source: 'test: ECS reads 2/1' },
        {
          service: 'ELBv2',
          operations: /^Describe/,
          burst: 2,
          perSecond: 1,
          source: 'test: ELBv2 reads 2/1',
        },
      ],
    });
    const t = w;
    t.rt.push('checkout-api', 'v2');
    t.rt.push('search-api', 'release-2');
    await t.rt.settle();
    const throttled = [...(t.rt.account.rateLimiter?.throttled.values() ?? [])].reduce((a, b) => a + b, 0);
    expect(throttled).toBeGreaterThan(0);
    expect((await releaseOf(t, 'v2'))?.outcome).toBe('Promoted');
    const search = t.rt.executions().find((e) => e.name.startsWith('search-api-'));
    expect((await t.rt.release(search?.name ?? ''))?.outcome).toBe('Promoted');
    // Never more answered calls in a virtual second than the bucket allows (burst 2, then 1/s).
    const perSecond = new Map<number, number>();
    for (const c of t.rt.account.callLog.filter((c) => c.call.startsWith('ECS.Describe') && !c.throttled)) {
      const second = Math.floor(c.at / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(3);
  });

  it('releases the lock after an abort caused by a throttling storm that outlasts every retry', async () => {
    const t = await world({
      // Throttling is retried for about 25 minutes (the Throttled retrier: 50 tries): 1,000 outlast it.
      api: [{ service: 'ELBv2', operation: 'DescribeRules', error: 'ThrottlingException', times: 1000 }],
    });
    const release = await pushed(t);
    expect(release?.outcome).toBe('Aborted');
    expect(release?.error?.Error).toBe('Throttled');
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
  });

  it("a snapshot that never finishes hits the wait's hard timeout → Aborted, green cleaned up, lock free", async () => {
    const t = await world();
    t.rt.account.rds.snapshotSeconds = () => 10 * 3600; // longer than WaitForSnapshot's 2-hour TimeoutSeconds
    const pushedAt = Date.now();
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    const release = await releaseOf(t, 'v2');
    // Named: which wait, and its limit (issue 18: before, "States.Timeout: States.Timeout").
    expect(release).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'States.Timeout',
        Cause: 'WaitForSnapshot: the RDS snapshot was not available within 7200 s',
      },
    });
    expect(Date.parse(release?.endedAt ?? '') - pushedAt).toBeGreaterThanOrEqual(7200_000);
    expect(Date.parse(release?.endedAt ?? '') - pushedAt).toBeLessThan(7300_000);
    expect(runningTasks(t.rt, t.checkout)).toEqual({ blue: 4, green: 0 });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
  });
});

describe('local runtime lifecycle', () => {
  it('a world that fails to build surfaces its error and does not block the next runtime', async () => {
    const { LocalRuntime } = await import('../../local/runtime.ts');
    const { fixtureTargets } = await import('../support/runtime.ts');
    await expect(
      LocalRuntime.start({ targetsFile: fixtureTargets }, () => {
        throw new Error('no such cluster');
      }),
    ).rejects.toThrow('no such cluster');
    w = await startWorld();
    w.rt.push('checkout-api', 'v2');
    await w.rt.settle();
    expect((await releaseOf(w, 'v2'))?.outcome).toBe('Promoted');
  });
});
