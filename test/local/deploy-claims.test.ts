/**
 * A rollback always wins (ARCHITECTURE.md), even over a deploy step whose Lambda is still running
 * when its release is stopped: AWS does not stop that invocation with the execution
 * (shared/deploy-claims.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { withDeployClaim } from '../../functions/shared/deploy-claims.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
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

describe('a deploy still landing when a rollback stops its release', () => {
  it("release-3's UpdateService answers 3 s late (throttled, the SDK retries): the rollback of release-2 waits for it, then puts release-1 back → RolledBack", async () => {
    w = await startWorld();
    const t = w;
    const v1 = service(t, 'blue')?.taskDefinition;
    t.rt.push('search-api', 'release-2');
    await t.rt.settle();
    await t.rt.drain();
    expect((await t.rt.release(idOf('release-2')))?.outcome).toBe('Promoted');
    expect(liveWeights(t.rt, t.search)).toEqual({ blue: 0, green: 100 });

    // release-3 deploys to blue; its UpdateService is throttled and the refusal takes 3 s to arrive
    // (a busy ECS at a rebuild): the SDK's retry lands after that.
    t.rt.faults.arm({
      api: [
        {
          service: 'ECS',
          operation: 'UpdateService',
          state: 'DeployInactiveColour',
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
    // Ops roll release-2 back while release-3's deploy call is in flight.
    const rollbackId = t.rt.startRollback({ target: 'search-api', reason: 'release-2 corrupts the index' });
    await t.rt.settle();
    await t.rt.drain();

    expect((await t.rt.release(idOf('release-3')))?.outcome).toBe('Aborted');
    const rollback = await t.rt.release(rollbackId);
    // Before the claims: RollbackFailed ("PRIMARY deployment runs search-api:3, not search-api:1"):
    // release-3's late UpdateService replaced the rollback's deployment on blue, and its fence then
    // scaled blue to 0, leaving release-2 live.
    expect(rollback?.outcome, JSON.stringify(rollback?.error)).toBe('RolledBack');
    expect(liveWeights(t.rt, t.search)).toEqual({ blue: 100, green: 0 });
    expect(service(t, 'blue')?.taskDefinition).toBe(v1);
    expect(await t.rt.store.getLock('search-api')).toBeUndefined();
  });
});

describe('a deploy claim', () => {
  it('refuses a second release while the holder may still run, names it, and runs out at its deadline', async () => {
    w = await startWorld();
    const { store } = w.rt;
    const at = Date.parse('2026-12-04T10:00:00Z');
    const where = { cluster: 'prod', service: 'web-blue' };
    const deps = (nowMs: number, endsAt?: number) => ({
      store,
      now: () => new Date(nowMs),
      invocationEndsAt: endsAt,
    });
    // release-a holds the claim while its deploy runs; release-b's deploy is refused meanwhile.
    let refused: unknown;
    await withDeployClaim(deps(at, at + 90_000), 'release-a', where, async () => {
      refused = await withDeployClaim(deps(at + 1_000), 'release-b', where, async () => 'deployed').catch(
        (e) => e,
      );
    });
    expect(refused).toMatchObject({ name: 'TransientError' });
    expect((refused as Error).message).toBe(
      'web-blue is still being deployed by release-a, whose invocation may run until 2026-12-04T10:01:30.000Z; release-b deploys it once that one is done',
    );
    // Given up as the deploy returned: release-b goes now.
    expect(await withDeployClaim(deps(at + 2_000), 'release-b', where, async () => 'deployed')).toBe(
      'deployed',
    );
    // A holder that died without giving it up (its deploy never returned) holds it until its deadline.
    expect(await store.claimService('prod/web-blue', 'release-c', at + 3_000, at + 93_000)).toBeUndefined();
    await expect(withDeployClaim(deps(at + 92_000), 'release-d', where, async () => 'x')).rejects.toThrow(
      /release-c/,
    );
    expect(await withDeployClaim(deps(at + 93_001), 'release-d', where, async () => 'deployed')).toBe(
      'deployed',
    );
    // A deploy that fails gives its claim up too, and giving up another's claim leaves it in place.
    await expect(
      withDeployClaim(deps(at + 94_000, at + 184_000), 'release-e', where, async () => {
        throw new Error('UpdateService refused');
      }),
    ).rejects.toThrow('UpdateService refused');
    expect(await store.claimService('prod/web-blue', 'release-f', at + 95_000, at + 185_000)).toBeUndefined();
    await store.releaseService('prod/web-blue', 'release-e');
    expect(await store.claimService('prod/web-blue', 'release-g', at + 96_000, at + 186_000)).toEqual({
      holder: 'release-f',
      untilMs: at + 185_000,
    });
  });
});
