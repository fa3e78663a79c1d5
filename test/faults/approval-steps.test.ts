/**
 * Fault matrix, the approval wait: orders-api asks alice@example.com to approve each release
 * (test/fixtures/targets-approval.json). With each step fault on WaitForApproval (the function that
 * stores the approval and sends the links), the approver's click on the link she received must
 * still promote the release, with I1-I7 holding. A rollback requested during the wait must end the
 * release Aborted.
 */
import { describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { decideThroughPage, emailedLinks } from '../../local/approver.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { startApprovalWorld } from '../support/approval-world.ts';
import { runIn, stepFaults } from '../support/fault-matrix.ts';

const approvalCase = async (name: string, faults: FaultPlan, expected: string, rollBack = false) => {
  const world = await startApprovalWorld(faults);
  return runIn(name, { rt: world.rt, target: world.orders }, expected, async () => {
    const { digest } = world.rt.push('orders-api', 'v2');
    const releaseId = releaseIdFor('orders-api', digest);
    const emailed = () => emailedLinks(world.rt, releaseId, 'alice@example.com').approve;
    expect(await world.rt.runUntil(() => emailed() !== undefined)).toBe(true);
    const ids = [releaseId];
    if (rollBack) {
      ids.push(world.rt.startRollback({ target: 'orders-api', reason: `fault matrix: ${name}` }));
      world.rt.faults.fired.push('rollback requested during the approval wait');
      await world.rt.wait(5);
    } else {
      let { result } = await decideThroughPage(emailed() as string, 'approve');
      if (result.status === 503) {
        // "Nothing was decided ... press the button again": she does, a little later.
        await world.rt.wait(30);
        ({ result } = await decideThroughPage(emailed() as string, 'approve'));
      }
      expect(result.status, result.body).toBe(200);
    }
    await world.rt.settle();
    return { ids, outcome: (await world.rt.release(releaseId))?.outcome };
  });
};

describe('fault matrix: WaitForApproval', () => {
  it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('approved + %s', async (fault) => {
    const result = await approvalCase(
      `release WaitForApproval × ${fault}`,
      stepFaults[fault]('WaitForApproval'),
      'Promoted',
    );
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Promoted');
  });

  it('a rollback requested during the wait: Aborted', async () => {
    const result = await approvalCase('release WaitForApproval × rollback requested', {}, 'Aborted', true);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Aborted');
  });
});
