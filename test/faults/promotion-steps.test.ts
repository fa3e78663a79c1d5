/**
 * Fault matrix, promotion: RecheckPromotionGate (reached only by a target promoted from another)
 * × every step fault, a rollback asked for there and a stop there. The release is shop-prod's,
 * started by the promotion once staging's soak completed, and approved; each case ends as it would
 * have without the fault, with I1-I7 (test/support/invariants.ts).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decide } from '../../functions/shared/approvals.ts';
import { findTarget } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { emailedLinks } from '../../local/approver.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';
import { runIn, stepFaults } from '../support/fault-matrix.ts';
import { RECOVERY_BOUND_SECONDS } from '../support/invariants.ts';

const targetsFile = fileURLToPath(new URL('../fixtures/targets-promotion.json', import.meta.url));
const digest = EcrModel.digestOf('shop', '1.0.1-rc.1');
const prod = releaseIdFor('shop-prod', digest);
const STATE = 'RecheckPromotionGate';

const promotionWorld = async (faults?: FaultPlan) => {
  const rt = await LocalRuntime.start({ targetsFile, ...(faults ? { faults } : {}) }, async (r) => {
    for (const name of ['shop-staging', 'shop-prod', 'shop-eu']) {
      const target = findTarget(r.targets, name);
      buildWorld(r.account, target, { liveTag: '1.0.0', targetGroup: FAST_TARGET_GROUPS });
      await serveTestListener(r.account, target);
    }
  });
  return { rt, target: findTarget(rt.targets, 'shop-prod') };
};

/** Staging releases and soaks; production starts by itself and bob approves it. */
const approvedProd = async (rt: LocalRuntime) => {
  rt.push('shop', '1.0.1-rc.1');
  expect(
    await rt.runUntil(() => emailedLinks(rt, prod, 'bob@example.com').approve !== undefined, 2 * 3600),
  ).toBe(true);
  const { releaseDeps } = await import('../../functions/shared/release-deps.ts');
  const deps = releaseDeps(rt.targets, rt.store, rt.tables.approvals);
  const approvalId = (await rt.release(prod))?.approvalId as string;
  await rt.until(
    decide({ approvalId, approver: 'bob@example.com', action: 'approve', channel: 'cli' }, deps),
  );
};

const entered = (rt: LocalRuntime) =>
  rt.executions().some((e) => e.name === prod && e.history.some((h) => h.state === STATE));

describe(`fault matrix: ${STATE}`, () => {
  it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('promotion + %s', async (fault) => {
    const world = await promotionWorld(stepFaults[fault](STATE));
    const result = await runIn(`promotion ${STATE} × ${fault}`, world, 'Promoted', async () => {
      await approvedProd(world.rt);
      await world.rt.settle();
      return { ids: [prod], outcome: (await world.rt.release(prod))?.outcome };
    });
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Promoted');
  });

  it.each(['rollback', 'stop'] as const)(
    `a %s at ${STATE}: nothing shifted, nothing left behind`,
    async (action) => {
      const world = await promotionWorld();
      const result = await runIn(`promotion ${action} at ${STATE}`, world, 'any', async () => {
        await approvedProd(world.rt);
        expect(await world.rt.runUntil(() => entered(world.rt))).toBe(true);
        if (action === 'stop') world.rt.stopExecution(prod);
        else world.rt.startRollback({ target: 'shop-prod', reason: 'rollback at the recheck' });
        world.rt.faults.fired.push(`${action} at ${STATE}`);
        await world.rt.wait(RECOVERY_BOUND_SECONDS);
        await world.rt.settle();
        const ids = world.rt
          .executions()
          .map((e) => e.name)
          .filter((n) => n.startsWith('shop-prod'));
        return { ids, outcome: (await world.rt.release(prod))?.outcome };
      });
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      // Nothing had moved: the release ends Aborted (stopped: recovered as such) or is rolled back at 0%.
      expect(['Aborted', 'RolledBack', 'Superseded']).toContain(result.outcome);
    },
  );
});
