/**
 * A rollback always wins (ARCHITECTURE.md), even over a step whose Lambda is still changing a
 * service when its release is stopped: AWS does not stop that invocation with the execution
 * (shared/service-claims.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { withServiceClaim } from '../../functions/shared/service-claims.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const idOf = (tag: string) => releaseIdFor('search-api', EcrModel.digestOf('search-api', tag));
const service = (t: TestWorld, colour: 'blue' | 'green') =>
  t.rt.account.ecs.DescribeServices({
    cluster: t.search.ecs.cluster,
    services: [t.search.ecs.services[colour]],
  }).services[0];

/**
 * search-api promotes release-2 (green live, blue at 0 on release-1); then release-3's ECS
 * UpdateService in `state` is throttled with a 3 s answer (a busy ECS at a rebuild), so the SDK's
 * retry lands after that; meanwhile ops roll release-2 back (blue's slow path). The rollback's record.
 */
const rollBackDuringLateCall = async (t: TestWorld, state: string) => {
  t.rt.push('search-api', 'release-2');
  await t.rt.settle();
  await t.rt.drain();
  expect((await t.rt.release(idOf('release-2')))?.outcome).toBe('Promoted');
  expect(liveWeights(t.rt, t.search)).toEqual({ blue: 0, green: 100 });
  t.rt.faults.arm({
    api: [
      {
        service: 'ECS',
        operation: 'UpdateService',
        state,
        error: 'ThrottlingException',
        delaySeconds: 3,
        times: 1,
      },
    ],
  });
  t.rt.push('search-api', 'release-3');
  expect(await t.rt.runUntil(() => t.rt.faults.fired.some((f) => f.includes('ECS.UpdateService')))).toBe(
    true,
  );
  const rollbackId = t.rt.startRollback({ target: 'search-api', reason: 'release-2 corrupts the index' });
  await t.rt.settle();
  await t.rt.drain();
  return t.rt.release(rollbackId);
};

describe('a change still landing when a rollback stops its release', () => {
  it("release-3's deploy: the rollback of release-2 waits for it, then puts release-1 back → RolledBack", async () => {
    w = await startWorld();
    const v1 = service(w, 'blue')?.taskDefinition;
    const rollback = await rollBackDuringLateCall(w, 'DeployInactiveColour');
    expect((await w.rt.release(idOf('release-3')))?.outcome).toBe('Aborted');
    // Before the claims: RollbackFailed ("PRIMARY deployment runs search-api:3, not search-api:1"):
    // release-3's late UpdateService replaced the rollback's deployment on blue, and its fence then
    // scaled blue to 0, leaving release-2 live.
    expect(rollback?.outcome, JSON.stringify(rollback?.error)).toBe('RolledBack');
    expect(liveWeights(w.rt, w.search)).toEqual({ blue: 100, green: 0 });
    expect(service(w, 'blue')?.taskDefinition).toBe(v1);
    expect(await w.rt.store.getLock('search-api')).toBeUndefined();
  });

  it("release-3's clean-up after a failed health check: its late scale-to-0 does not land on the rollback's deployment", async () => {
    w = await startWorld({ faults: { unhealthyTags: ['release-3'] } });
    const v1 = service(w, 'blue')?.taskDefinition;
    const rollback = await rollBackDuringLateCall(w, 'CleanUpInactiveColour');
    // Before: RollbackFailed (blue scaled to 0 under the rollback's deployment).
    expect(rollback?.outcome, JSON.stringify(rollback?.error)).toBe('RolledBack');
    expect(liveWeights(w.rt, w.search)).toEqual({ blue: 100, green: 0 });
    expect(service(w, 'blue')?.taskDefinition).toBe(v1);
    expect(service(w, 'blue')?.desiredCount).toBeGreaterThan(0);
  });
});

describe('a service claim', () => {
  const at = Date.parse('2026-12-04T10:00:00Z');
  const where = { cluster: 'prod', service: 'web-blue' };
  const depsOf = (store: TestWorld['rt']['store']) => (nowMs: number, endsAt?: number, id?: string) => ({
    store,
    now: () => new Date(nowMs),
    invocationEndsAt: endsAt,
    invocationId: id,
  });

  it('refuses a second release while the holder may still land a call, names it, and runs out past its deadline', async () => {
    w = await startWorld();
    const { store } = w.rt;
    const deps = depsOf(store);
    // release-a holds the claim while its change runs; release-b's is refused meanwhile.
    let refused: unknown;
    await withServiceClaim(deps(at, at + 90_000, 'a-1'), 'release-a', where, async () => {
      refused = await withServiceClaim(deps(at + 1_000), 'release-b', where, async () => 'changed').catch(
        (e: unknown) => e,
      );
    });
    expect(refused).toMatchObject({ name: 'TransientError' });
    expect((refused as Error).message).toBe(
      'web-blue is still being changed by release-a, whose call may land until 2026-12-04T10:02:00.000Z; release-b changes it once that one is done',
    );
    // Given up as the change returned: release-b goes now.
    expect(await withServiceClaim(deps(at + 2_000), 'release-b', where, async () => 'changed')).toBe(
      'changed',
    );
    // A holder that died without giving it up holds it until its deadline and the margin after.
    expect(
      await store.claimService('prod/web-blue', 'release-c', 'c-1', at + 3_000, at + 93_000),
    ).toBeUndefined();
    await expect(withServiceClaim(deps(at + 92_000), 'release-d', where, async () => 'x')).rejects.toThrow(
      /release-c/,
    );
    expect(await withServiceClaim(deps(at + 93_001), 'release-d', where, async () => 'changed')).toBe(
      'changed',
    );
    // A change that fails gives its claim up too.
    await expect(
      withServiceClaim(deps(at + 94_000, at + 184_000, 'e-1'), 'release-e', where, async () => {
        throw new Error('UpdateService refused');
      }),
    ).rejects.toThrow('UpdateService refused');
    expect(await withServiceClaim(deps(at + 95_000), 'release-f', where, async () => 'changed')).toBe(
      'changed',
    );
  });

  it("lets a Step Functions retry of the same release take the claim over, and the earlier attempt's return does not give it up", async () => {
    w = await startWorld();
    const deps = depsOf(w.rt.store);
    let landB: () => void = () => undefined;
    let attemptB: Promise<string> | undefined;
    // Attempt A of release-3 holds the claim; attempt B (a retry while A still runs) takes it over.
    await withServiceClaim(deps(at, at + 90_000, 'a'), 'release-3', where, async () => {
      let entered: () => void = () => undefined;
      const inB = new Promise<void>((resolve) => {
        entered = resolve;
      });
      attemptB = withServiceClaim(deps(at + 2_000, at + 92_000, 'b'), 'release-3', where, () => {
        entered();
        return new Promise<string>((resolve) => {
          landB = () => resolve('landed');
        });
      });
      await inB;
    });
    // A returned; B's call is still in flight: the rollback must wait for B.
    const rollback = await withServiceClaim(
      deps(at + 3_000),
      'rollback-1',
      where,
      async () => 'deployed',
    ).catch((e: Error) => e.message);
    landB();
    await attemptB;
    expect(rollback).toMatch(/still being changed by release-3/);
  });
});
