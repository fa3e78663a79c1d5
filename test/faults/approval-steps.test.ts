/**
 * Fault matrix, the approval wait: orders-api asks alice@example.com to approve each release
 * (test/fixtures/targets-approval.json). With each step fault on WaitForApproval (the function that
 * stores the approval and sends the links), the approver's click on the link she received must
 * still promote the release, with I1-I7 holding. A rollback requested during the wait must end the
 * release Aborted.
 */
import { describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { approvalsOf, clickSlackButton, decideThroughPage, emailedLinks } from '../../local/approver.ts';
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

/**
 * The functions that take a decision (the email page's `approvals`, and `slack-interactions`) with
 * each fault: the person who decided sees an error or a page saying the decision is not yet
 * confirmed, and tries again, as people do. The decision must reach the release exactly once, be
 * recorded once, and never be undone; I1-I7 must hold.
 */
const decisionFaults: Record<string, (folder: string) => FaultPlan> = {
  'crash after side effect': (folder) => ({ lambda: [{ folder, kind: 'crash-after-effect', times: 1 }] }),
  'function timed out': (folder) => ({ lambda: [{ folder, kind: 'timeout', times: 1 }] }),
  'SendTaskSuccess answer lost': (folder) => ({
    api: [
      {
        service: 'SFN',
        operation: 'SendTaskSuccess',
        folder,
        error: 'TimeoutError',
        mode: 'timeout',
        times: 1,
      },
      { service: 'SFN', operation: 'SendTaskSuccess', folder, error: 'ThrottlingException', times: 2 },
    ],
  }),
  'SendTaskSuccess throttled past every retry': (folder) => ({
    api: [{ service: 'SFN', operation: 'SendTaskSuccess', folder, error: 'ThrottlingException', times: 9 }],
  }),
};

/** Which function takes the fault: the email page's, Slack's decision, or Slack's acknowledgement. */
const faultedFolder = { email: 'approvals', slack: 'slack-decisions', 'slack ack': 'slack-interactions' };

const decisionCase = async (channel: keyof typeof faultedFolder, fault: string) => {
  const folder = faultedFolder[channel];
  const world = await startApprovalWorld();
  return runIn(
    `decision ${folder} × ${fault}`,
    { rt: world.rt, target: world.orders },
    'Promoted',
    async () => {
      const { digest } = world.rt.push('orders-api', 'v2');
      const releaseId = releaseIdFor('orders-api', digest);
      const emailed = () => emailedLinks(world.rt, releaseId, 'alice@example.com').approve;
      expect(await world.rt.runUntil(() => emailed() !== undefined)).toBe(true);
      world.rt.faults.arm((decisionFaults[fault] as (f: string) => FaultPlan)(folder));
      const [approval] = await approvalsOf(world.rt, releaseId);
      const press = async () =>
        channel === 'email'
          ? (await decideThroughPage(emailed() as string, 'approve')).result
          : clickSlackButton(world.rt, {
              approvalId: approval?.approvalId as string,
              userId: 'U0ALICE01',
              action: 'approve',
            });
      const answers = [await press()];
      // Anything but a plain success: she looks again a minute later and presses again.
      if (answers[0]?.status !== 200 || fault.includes('throttled')) {
        await world.rt.wait(60);
        answers.push(await press());
      }
      const last = answers.at(-1) as Awaited<ReturnType<typeof press>>;
      expect(last.status, answers.map((a) => a.status).join(' → ')).toBeLessThan(500);
      // Slack acknowledges every click with 200: what counts is what it then told her.
      if ('reply' in last) {
        expect(last.reply).toMatch(/Approved by alice@example\.com|Already APPROVED by alice@example\.com/);
      }
      await world.rt.settle();
      const release = await world.rt.release(releaseId);
      const [record] = await approvalsOf(world.rt, releaseId);
      expect(record).toMatchObject({ status: 'APPROVED', decidedBy: ['alice@example.com'] });
      expect(release?.phases.filter((p) => p.name === 'Approval')).toHaveLength(1);
      return { ids: [releaseId], outcome: release?.outcome };
    },
  );
};

describe('fault matrix: the decision functions (approvals, slack-interactions, slack-decisions)', () => {
  const cases = [
    ...(['email', 'slack'] as const).flatMap((channel) =>
      Object.keys(decisionFaults).map((fault) => [channel, fault] as const),
    ),
    // The acknowledging function makes no decision: it can only crash or hang after handing over.
    ['slack ack', 'crash after side effect'] as const,
    ['slack ack', 'function timed out'] as const,
  ];
  it.each(cases)('%s + %s', async (channel, fault) => {
    const result = await decisionCase(channel, fault);
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Promoted');
  });
});
