/**
 * Approvals that cannot be abused or lose a decision (issue 14): decisions are never undone blindly,
 * one approval per release wait however often the step is retried, identities are normalised and
 * aliased, free text cannot forge lines, and only our own page may POST a decision.
 */
import { describe, expect, it } from 'vitest';
import { decideRelease } from '../../cli/commands.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { linkQuery } from '../../functions/shared/signing.ts';
import { BLOCKED_RESPONSE } from '../../infra/approval-api-limits.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import {
  approvalEmails,
  approvalsOf,
  clickSlackButton,
  decideThroughPage,
  emailedLinks,
  formFields,
  http,
  pageText,
  sendSlackClick,
} from '../../local/approver.ts';
import {
  approvalWorlds,
  cliBackend,
  decideAsBob,
  depsOf,
  finish,
  isRunning,
  parkedManualRelease,
  parkedRelease,
  refuseThePagesSends,
  type ApprovalWorld as World,
} from '../support/approval-world.ts';

const start = approvalWorlds();

/** The CLI's approve/reject as it runs against AWS (tables + Step Functions), in the simulated account. */
const cliDecide = async (
  world: World,
  releaseId: string,
  by: string,
  action: 'approve' | 'reject' = 'approve',
  reason?: string,
  /** Against AWS: the IAM caller (STS GetCallerIdentity) the CLI decides as. */
  callerArn?: string,
) => {
  const backend = await cliBackend(world, callerArn);
  const lines: string[] = [];
  try {
    const result = await world.rt.until(
      decideRelease(backend, { line: (t) => lines.push(t) }, { releaseId, action, by, reason }),
    );
    return { ok: true, result, lines };
  } catch (error) {
    return { ok: false, error: (error as Error).message, lines };
  }
};

describe('links reach only their approver (issue 14, case 1)', () => {
  it('nothing with a link goes to the shared release topic; each approver gets one email, addressed to them alone', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'ledger-api', 'alice@example.com');
    await world.rt.wait(30);
    // Before: each approver's links were published on the release topic, so a subscriber without a
    // filter (a mailing list, a chat bridge) read all of them and could approve as everyone.
    const onTopic = world.rt.account.sns.published.map((m) => `${m.subject ?? ''}\n${m.message}`).join('\n');
    expect(onTopic).not.toMatch(/\/approvals\//);
    const emails = approvalEmails(world.rt, releaseId);
    expect(emails.map((m) => m.to)).toEqual([
      ['alice@example.com'],
      ['bob@example.com'],
      ['carol@example.com'],
    ]);
    for (const email of emails) {
      expect(email.from).toBe('switchyard@example.com');
      // Links signed for this approver only.
      expect(
        [...email.body.matchAll(/approver=([^&\s]+)/g)].map((m) => decodeURIComponent(m[1] ?? '')),
      ).toEqual([email.to[0], email.to[0]]);
    }
  });

  it('a sender SES has not verified: the release stops before anyone is asked, and says which identity and what to do', async () => {
    const world = await start();
    world.rt.account.ses.identities.delete('switchyard@example.com');
    // ledger-api asks by email only.
    const { digest } = world.rt.push('ledger-api', 'v2');
    await world.rt.settle();
    const release = await world.rt.release(`ledger-api-${digest.slice(7, 19)}`);
    expect(release?.outcome).toBe('Aborted');
    expect(JSON.stringify(release?.error)).toMatch(
      /email to alice@example.com: MessageRejected: Email address is not verified\. The following identities failed the check in region US-EAST-1: switchyard@example\.com/,
    );
  });
});

describe('a decision is never undone blindly (issue 14, case 2)', () => {
  it('SendTaskSuccess takes effect but its answer is lost, then throttled: the page, the record and the audit trail all say approved, and a later reject changes nothing', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    world.rt.faults.arm({
      api: [
        // The first call takes effect; its answer never arrives (the SDK sees a timeout and retries)...
        {
          service: 'SFN',
          operation: 'SendTaskSuccess',
          error: 'TimeoutError',
          mode: 'timeout',
          times: 1,
        },
        // ...and the retries are throttled.
        { service: 'SFN', operation: 'SendTaskSuccess', error: 'ThrottlingException', times: 2 },
      ],
    });
    const bob = await decideThroughPage(approve, 'approve');
    // Before: 503 "Nothing was decided", the record back to PENDING, while the release went on.
    expect(bob.result.status, bob.result.body).toBe(200);
    expect(bob.result.body).toContain('Approved: the release goes on.');

    const alice = await cliDecide(world, releaseId, 'alice@example.com', 'reject', 'too risky');
    expect(alice.ok).toBe(false);
    expect(alice.error).toMatch(/Already APPROVED by bob@example\.com/);

    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    const [record] = await approvalsOf(world.rt, releaseId);
    expect(record).toMatchObject({ status: 'APPROVED', decidedBy: ['bob@example.com'] });
    expect(release?.phases.filter((p) => p.name === 'Approval').map((p) => p.detail)).toEqual([
      'approved by bob@example.com via email',
    ]);
  });

  it('a decision that read the token just before a retry re-armed the approval goes to the new token', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    const deps = await depsOf(world);
    const [record] = await approvalsOf(world.rt, releaseId);
    // The decision reads the record with an old token (an earlier attempt's); the table holds the new one.
    let reads = 0;
    const approvals = {
      ...deps.approvals,
      get: async (id: string) => {
        const current = await deps.approvals.get(id);
        return reads++ === 0 && current ? { ...current, taskToken: 'an-earlier-attempts-token' } : current;
      },
    };
    const result = await decideAsBob(world, record?.approvalId as string, 'cli', { ...deps, approvals });
    expect(result.state).toBe('decided');
    // Before: the write won with the old token, the send found it closed, and the page said
    // "approved" while the release waited on its real token until the deadline (Aborted).
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });

  it('the deadline ends before Step Functions times the wait out: a click in the last seconds is too late, never "approved"', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const [record] = await approvalsOf(world.rt, releaseId);
    const entered = world.rt.executions()[0]?.history.find((h) => h.state === 'WaitForApproval')
      ?.at as number;
    // orders-api waits 60 minutes from when the state was entered; the deadline is 10 s before that.
    // Before: the Lambda's own clock (later than the entry), so a click could win its write after
    // the task had timed out and be shown as "Approved: the release goes on" while it cleaned up.
    expect(record?.deadline).toBe(Math.floor(entered / 1000) + 3600 - 10);
    await world.rt.wait((record?.deadline as number) + 1 - Date.now() / 1000);
    const late = await decideThroughPage(approve, 'approve');
    expect(late.page.body).toContain('Link expired');
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Aborted');
    // Nothing was decided; the clean-up closed the approval.
    expect((await approvalsOf(world.rt, releaseId))[0]).toMatchObject({
      status: 'CANCELLED',
      reason: 'the release stopped before a decision (States.Timeout)',
    });
  });

  it('approved seconds before the deadline while Step Functions throttles, then the wait times out: the record says not taken, and pressing again cannot claim it was', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const [record] = await approvalsOf(world.rt, releaseId);
    await world.rt.wait((record?.deadline as number) - 5 - Date.now() / 1000);
    world.rt.faults.arm({
      api: [{ service: 'SFN', operation: 'SendTaskSuccess', error: 'ThrottlingException', times: 12 }],
    });
    const first = await decideThroughPage(approve, 'approve');
    expect(first.result.status).toBe(202);
    // The wait times out 10 s after the deadline; the release starts cleaning up.
    await world.rt.runUntil(
      async () => (await world.rt.release(releaseId))?.haltedBy !== undefined || !isRunning(world, releaseId),
      120,
    );
    const again = await decideAsBob(world, record?.approvalId as string, 'email');
    // Before: "decided" (token closed, execution running), deliveredAt written, the record APPROVED
    // and the audit trail "approved by bob" on a release that ended Aborted by States.Timeout.
    expect(again.state).toBe('cancelled');
    const release = await finish(world, releaseId);
    expect(release).toMatchObject({ outcome: 'Aborted', error: { Error: 'States.Timeout' } });
    const [after] = await approvalsOf(world.rt, releaseId);
    expect(after).toMatchObject({ status: 'CANCELLED' });
    expect(after?.deliveredAt).toBeUndefined();
    expect(release?.phases.filter((p) => p.name === 'Approval').map((p) => [p.status, p.detail])).toEqual([
      ['succeeded', 'approved by bob@example.com via email'],
      [
        'failed',
        expect.stringMatching(
          /^not taken: approved by bob@example.com via email, but the release (had stopped waiting for it \(States.Timeout\)|was already stopping)/,
        ),
      ],
    ]);
  });

  it('an operator stops the execution while it waits for approval: the recovery closes the approval, and its page says so', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    world.rt.stopExecution(releaseId);
    await world.rt.settle();
    // Before: PENDING for ever (until its TTL), the page still offering the buttons.
    expect((await approvalsOf(world.rt, releaseId))[0]).toMatchObject({
      status: 'CANCELLED',
      reason: 'the release stopped before a decision (ABORTED)',
    });
    const page = await http(approve);
    expect(page.body).toContain('Nothing was approved: this approval was cancelled');
    expect(page.body).not.toContain('id="approve-form"');
  });

  it('a decision Step Functions never confirmed, and nobody pressed again: the reconciler delivers it within minutes', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    refuseThePagesSends(world);
    const decidedAt = Date.now();
    const { result } = await decideThroughPage(approve, 'approve');
    expect(result.status).toBe(202);
    // Bob closes the tab. Before: the release waited out its hour and ended Aborted (States.Timeout)
    // under an approval that said APPROVED.
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    const approval = release?.phases.find((p) => p.name === 'Approval');
    expect(approval?.detail).toBe('approved by bob@example.com via email');
    const [record] = await approvalsOf(world.rt, releaseId);
    expect(record?.deliveredAt).toBeDefined();
    expect(Date.parse(record?.deliveredAt as string) - decidedAt).toBeLessThan(3 * 60_000);
  });

  it('the approval wait fails after the links went out: the clean-up closes the approval before the release ends, and a click says nothing was approved', async () => {
    const world = await start();
    // Every attempt of request-approval sends, then crashes before answering: WaitForApproval's
    // retries run out and the release cleans up (Aborted).
    world.rt.faults.arm({ lambda: [{ folder: 'request-approval', kind: 'crash-after-effect', times: 9 }] });
    const { digest } = world.rt.push('orders-api', 'v2');
    const releaseId = releaseIdFor('orders-api', digest);
    const link = () => emailedLinks(world.rt, releaseId, 'bob@example.com').approve;
    expect(await world.rt.runUntil(() => link() !== undefined)).toBe(true);
    const cancelledWhileRunning = await world.rt.runUntil(
      async () => (await approvalsOf(world.rt, releaseId))[0]?.status === 'CANCELLED',
      600,
    );
    // Before: the approval stayed PENDING through the clean-up, and a click then won its write and
    // was shown as "Approved" while the release was stopping.
    expect(cancelledWhileRunning).toBe(true);
    expect(isRunning(world, releaseId)).toBe(true);
    const page = await http(link() as string);
    expect(page.body).toContain('Nothing was approved: this approval was cancelled');
    const [record] = await approvalsOf(world.rt, releaseId);
    const direct = await decideAsBob(world, record?.approvalId as string, 'cli');
    expect(direct.state).toBe('cancelled');
    expect((await approvalsOf(world.rt, releaseId))[0]).toMatchObject({
      status: 'CANCELLED',
      reason: 'the release stopped before a decision (Lambda.Unknown)',
    });
    expect((await finish(world, releaseId))?.outcome).toBe('Aborted');
  });

  it('a decision that arrives after the release ended is recorded as not taken, never as approved', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const page = await http(approve);
    // The release is stopped while bob reads the page; his token is closed when he presses. Its
    // status event is lost, so no recovery has closed the approval yet (the reconciler would, a
    // minute later): the decision itself must find out that the release ended.
    world.rt.faults.arm({
      events: [{ detailType: 'Step Functions Execution Status Change', action: 'drop', times: 1 }],
    });
    world.rt.stopExecution(releaseId);
    await world.rt.wait(5);
    const fields = formFields(page.body, 'approve');
    const url = new URL(approve);
    url.search = '';
    const result = await http(url.toString(), {
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
    });
    expect(result.body).toContain('Nothing was approved');
    const [record] = await approvalsOf(world.rt, releaseId);
    expect(record?.status).toBe('CANCELLED');
    expect(record?.reason).toMatch(
      /the release had already ended \(ABORTED\) when bob@example\.com via email decided/,
    );
  });
});

describe('one approval per release wait (issue 14, case 5)', () => {
  it('request-approval crashes after sending and is retried: one approval, one set of links, and the first link promotes', async () => {
    const world = await start({
      lambda: [{ state: 'WaitForApproval', kind: 'crash-after-effect', times: 1 }],
    });
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    await world.rt.wait(60);
    expect(world.rt.faults.fired.length).toBeGreaterThan(0);
    expect(await approvalsOf(world.rt, releaseId)).toHaveLength(1);
    const toBob = approvalEmails(world.rt, releaseId).filter((m) => m.to.includes('bob@example.com'));
    expect(toBob).toHaveLength(1);
    expect((await decideThroughPage(approve, 'approve')).result.status).toBe(200);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });

  it('a rejection made while the step is being retried reaches the release through the retry', async () => {
    const world = await start({
      lambda: [{ state: 'WaitForApproval', kind: 'crash-after-effect', times: 1 }],
    });
    const { releaseId, reject } = await parkedRelease(world, 'orders-api');
    // The first attempt crashed after sending: its token is closed, the retry has not run yet.
    const bob = await decideThroughPage(reject, 'reject', 'not during the audit');
    expect(bob.result.status, bob.result.body).toBe(200);
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Aborted');
    expect(JSON.stringify(release?.error)).toContain(
      'rejected by bob@example.com via email: not during the audit',
    );
    expect(await approvalsOf(world.rt, releaseId)).toHaveLength(1);
  });

  it('too few approvers reached (SES throttled two sends): the step is retried and emails only those it missed', async () => {
    const world = await start({
      // ledger-api needs two approvers for a pushed image; the first email goes, the next two fail.
      api: [
        {
          service: 'SESv2',
          operation: 'SendEmail',
          error: 'TooManyRequestsException',
          status: 429,
          times: 6,
          after: 1,
        },
      ],
    });
    const { releaseId } = await parkedRelease(world, 'ledger-api', 'alice@example.com');
    await world.rt.runUntil(() => approvalEmails(world.rt, releaseId).length >= 3);
    // Before: the step succeeded with one approver emailed, and the release waited for a second
    // approval nobody else could give.
    expect(
      approvalEmails(world.rt, releaseId)
        .map((m) => m.to[0])
        .sort(),
    ).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com']);
    expect(world.rt.lambda.byFunction.get('request-approval')).toBeGreaterThan(1);
    for (const who of ['alice@example.com', 'carol@example.com']) {
      const links = emailedLinks(world.rt, releaseId, who);
      expect((await decideThroughPage(links.approve as string, 'approve')).result.status).toBeLessThan(300);
    }
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });

  it('the step fails between storing the approval and noting it on the release: the retry finds the same approval', async () => {
    const world = await start({
      // request-approval's only release-record write is the approval id; it fails past the SDK's retries.
      api: [
        {
          service: 'DynamoDB',
          operation: 'UpdateItem',
          state: 'WaitForApproval',
          error: 'InternalFailure',
          status: 500,
          times: 12,
        },
      ],
    });
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    expect(
      world.rt.lambda.byFunction.get('request-approval'),
      'the step failed and was retried',
    ).toBeGreaterThan(1);
    expect(await approvalsOf(world.rt, releaseId)).toHaveLength(1);
    expect((await decideThroughPage(approve, 'approve')).result.status).toBe(200);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });
});

describe('identities (issue 14, cases 3 and 9)', () => {
  it('a release started as `alice` (her alias) cannot be approved by alice@example.com, with any case or spacing', async () => {
    const world = await start();
    const releaseId = await parkedManualRelease(world, 'orders-api', 'v2', 'alice');
    const [record] = await approvalsOf(world.rt, releaseId);
    // Before: requester 'alice', so alice@example.com was asked and could approve her own release.
    expect(record?.requester).toBe('alice@example.com');
    expect(emailedLinks(world.rt, releaseId, 'alice@example.com').approve).toBeUndefined();
    for (const as of [
      'alice@example.com',
      ' Alice@Example.com ',
      'ALICE',
      'arn:aws:iam::123456789012:user/alice',
    ]) {
      const tried = await cliDecide(world, releaseId, as);
      expect(tried.ok, as).toBe(false);
      expect(tried.error, as).toContain('alice@example.com started this release and cannot approve it');
    }
    // Her own link, signed with the real key, is refused too.
    const key = world.rt.account.secrets.GetSecretValue({ SecretId: 'switchyard/approval-signing-key' })
      .SecretString as string;
    const id = record?.approvalId as string;
    const own = `${world.rt.approvalBaseUrl}/approvals/${id}?${linkQuery(key, { approvalId: id, action: 'approve', approver: 'Alice@Example.com', exp: record?.deadline as number })}`;
    const url = new URL(own);
    const fields = Object.fromEntries(url.searchParams);
    url.search = '';
    const refused = await http(url.toString(), {
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
    });
    expect(refused.status).toBe(403);
    const bob = await cliDecide(world, releaseId, 'Bob@Example.com ');
    expect(bob.ok, bob.error).toBe(true);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });

  it('a pushed image (requester unknown) needs two approvers where the target says so; a known requester needs one', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'ledger-api', 'alice@example.com');
    const [pushed] = await approvalsOf(world.rt, releaseId);
    expect(pushed).toMatchObject({ requester: null, twoPerson: true });
    expect(pushed?.details['Triggered by']).toBe('ecr-push (by unknown)');
    expect((await cliDecide(world, releaseId, 'alice@example.com')).lines.join()).toContain(
      'a second approver is needed',
    );
    expect(isRunning(world, releaseId)).toBe(true);
    expect((await cliDecide(world, releaseId, 'carol@example.com')).ok).toBe(true);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');

    const manual = await parkedManualRelease(world, 'ledger-api', 'v3', 'dave@example.com');
    expect((await approvalsOf(world.rt, manual))[0]).toMatchObject({
      requester: 'dave@example.com',
      twoPerson: false,
    });
    expect((await cliDecide(world, manual, 'bob@example.com')).ok).toBe(true);
    expect((await finish(world, manual))?.outcome).toBe('Promoted');
  });

  it('against AWS the CLI decides as its IAM caller, not --as: one terminal cannot be two approvers (case 4)', async () => {
    const world = await start();
    // A pushed ledger-api image needs two approvers (requester unknown).
    const { releaseId } = await parkedRelease(world, 'ledger-api', 'alice@example.com');
    const alice = 'arn:aws:iam::123456789012:user/alice';
    const first = await cliDecide(world, releaseId, 'alice', 'approve', undefined, alice);
    expect(first.lines.join('\n')).toContain('a second approver is needed');
    // Before: `--as bob@example.com` from the same terminal was bob, and the release was promoted.
    const again = await cliDecide(world, releaseId, 'bob@example.com', 'approve', undefined, alice);
    expect(again.lines.join('\n')).toContain(`deciding as ${alice}, the IAM identity running this command`);
    expect(again.lines.join('\n')).toContain(
      'Approval by alice@example.com recorded; a second approver is needed',
    );
    expect(isRunning(world, releaseId)).toBe(true);
    const stranger = await cliDecide(
      world,
      releaseId,
      'bob@example.com',
      'approve',
      undefined,
      'arn:aws:iam::123456789012:user/mallory',
    );
    expect(stranger.error).toContain(
      'arn:aws:iam::123456789012:user/mallory is not an approver of ledger-api (an approver lists the IAM ARNs they decide as in approval.approvers[].aliases)',
    );
    const bob = 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployer_0a1b2c3d/bob@example.com';
    expect((await cliDecide(world, releaseId, 'whoever', 'approve', undefined, bob)).ok).toBe(true);
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(release?.phases.filter((p) => p.name === 'Approval').map((p) => p.detail)).toEqual([
      'approved by alice@example.com and bob@example.com via cli',
    ]);
  });

  it('a signed Slack click from a user id such as constructor or __proto__ names nobody (before: HTTP 500)', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    const [record] = await approvalsOf(world.rt, releaseId);
    for (const userId of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const click = await clickSlackButton(world.rt, {
        approvalId: record?.approvalId as string,
        userId,
        action: 'approve',
      });
      expect(click.status, userId).toBe(200);
      expect(click.reply).toBe(`Slack user ${userId} is not an approver of this release.`);
      expect(click.replies[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    }
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');
  });
});

describe('who pushed an image, as CloudTrail names them (issue 14, case 3)', () => {
  const aliceArn = 'arn:aws:iam::123456789012:user/alice';

  it("CloudTrail's PutImage record arrives before the approval: the pusher is the requester, is not asked, and one other approver decides", async () => {
    const world = await start();
    const { digest } = world.rt.push('ledger-api', 'v2', { by: aliceArn, cloudTrailDelaySeconds: 20 });
    const releaseId = releaseIdFor('ledger-api', digest);
    expect(
      await world.rt.runUntil(
        () => emailedLinks(world.rt, releaseId, 'bob@example.com').approve !== undefined,
      ),
    ).toBe(true);
    const [record] = await approvalsOf(world.rt, releaseId);
    // Before: a push had no requester ("by unknown"); alice was asked and could approve her own image.
    expect(record).toMatchObject({ requester: 'alice@example.com', twoPerson: false });
    expect(record?.details['Triggered by']).toBe(`ecr-push (by ${aliceArn})`);
    expect(emailedLinks(world.rt, releaseId, 'alice@example.com').approve).toBeUndefined();
    const bob = emailedLinks(world.rt, releaseId, 'bob@example.com').approve as string;
    expect((await decideThroughPage(bob, 'approve')).result.status).toBe(200);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });

  it("the record arrives after the approvers were asked: the pusher's own click is refused then, and another approver decides", async () => {
    const world = await start();
    const { digest } = world.rt.push('orders-api', 'v2', { by: aliceArn, cloudTrailDelaySeconds: 600 });
    const releaseId = releaseIdFor('orders-api', digest);
    const alice = () => emailedLinks(world.rt, releaseId, 'alice@example.com').approve;
    expect(await world.rt.runUntil(() => alice() !== undefined)).toBe(true);
    expect((await approvalsOf(world.rt, releaseId))[0]?.details['Triggered by']).toBe(
      'ecr-push (by unknown)',
    );
    await world.rt.wait(600);
    const own = await decideThroughPage(alice() as string, 'approve');
    expect(own.result.status).toBe(403);
    expect(pageText(own.result.body).result).toContain(
      `alice@example.com pushed this image (CloudTrail names ${aliceArn}) and cannot approve it`,
    );
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');
    const bob = emailedLinks(world.rt, releaseId, 'bob@example.com').approve as string;
    expect((await decideThroughPage(bob, 'approve')).result.status).toBe(200);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });

  it('a vote the pusher cast before CloudTrail named them is voided: two others must still approve', async () => {
    const world = await start();
    const { digest } = world.rt.push('ledger-api', 'v2', { by: aliceArn, cloudTrailDelaySeconds: 900 });
    const releaseId = releaseIdFor('ledger-api', digest);
    const link = (who: string) => emailedLinks(world.rt, releaseId, who).approve as string;
    expect(
      await world.rt.runUntil(
        () => emailedLinks(world.rt, releaseId, 'alice@example.com').approve !== undefined,
      ),
    ).toBe(true);
    // Unknown requester on ledger-api: two approvers. Alice votes first, before the record arrives.
    expect((await decideThroughPage(link('alice@example.com'), 'approve')).result.status).toBe(202);
    await world.rt.wait(900);
    // Before: bob's approval decided, with alice's vote as the first of two.
    const bob = await decideThroughPage(link('bob@example.com'), 'approve');
    expect(bob.result.status).toBe(202);
    expect((await approvalsOf(world.rt, releaseId))[0]).toMatchObject({
      status: 'PENDING',
      approvedBy: new Set(['bob@example.com']),
    });
    expect((await decideThroughPage(link('carol@example.com'), 'approve')).result.status).toBe(200);
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(
      release?.phases.filter((p) => p.name.startsWith('Approval')).map((p) => [p.name, p.status, p.detail]),
    ).toEqual([
      ['ApprovalVote', 'succeeded', 'approved by alice@example.com via email; a second approver is needed'],
      [
        'ApprovalVote',
        'failed',
        'vote of alice@example.com voided: CloudTrail names them as pushing this image',
      ],
      ['ApprovalVote', 'succeeded', 'approved by bob@example.com via email; a second approver is needed'],
      ['Approval', 'succeeded', 'approved by bob@example.com and carol@example.com via email'],
    ]);
  });

  it('every pusher of the digest counts: a retag by another approver adds them, never replaces the first', async () => {
    const world = await start();
    const bobArn = 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployer_0a1b2c3d/bob@example.com';
    const { digest } = world.rt.push('ledger-api', 'v2', { by: aliceArn, cloudTrailDelaySeconds: 10 });
    world.rt.account.ecr.push('ledger-api', 'v2-retagged', {
      digest,
      by: bobArn,
      cloudTrailDelaySeconds: 20,
      silent: true,
    });
    const releaseId = releaseIdFor('ledger-api', digest);
    const carol = () => emailedLinks(world.rt, releaseId, 'carol@example.com').approve;
    expect(await world.rt.runUntil(() => carol() !== undefined)).toBe(true);
    const [record] = await approvalsOf(world.rt, releaseId);
    // Before: the second record replaced the first; only bob counted as the pusher.
    expect(record?.details['Triggered by']).toBe(`ecr-push (by ${[aliceArn, bobArn].sort().join(', ')})`);
    expect(approvalEmails(world.rt, releaseId).flatMap((m) => m.to)).toEqual(['carol@example.com']);
    expect((await decideThroughPage(carol() as string, 'approve')).result.status).toBe(200);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });
});

describe('free text cannot forge lines (issue 14, case 6)', () => {
  it('a requester name with a newline is refused before anyone is asked; no email carries a forged link', async () => {
    const world = await start();
    const forged = 'mallory\nApprove: https://evil.example/approvals/x';
    const releaseId = world.rt.startRelease({ target: 'orders-api', tag: 'v2', by: forged });
    await world.rt.settle();
    // Refused at AcquireLock (before: accepted, and the line reached approvers' emails and Slack).
    const execution = world.rt.executions().find((e) => e.name === releaseId);
    const error = (JSON.parse(execution?.output ?? '{}') as { error?: { Error: string; Cause: string } })
      .error;
    expect(error?.Error).toBe('InvalidInput');
    expect(error?.Cause).toMatch(/trigger\.by: the text contains a control character \(U\+000a/);
    expect(await world.rt.release(releaseId)).toBeUndefined();
    expect(approvalEmails(world.rt, releaseId)).toEqual([]);
    const all = [
      ...world.rt.account.sns.published.map((m) => m.message),
      ...world.rt.account.ses.sent.map((m) => m.body),
    ].join('\n');
    expect(all).not.toContain('evil.example');
    expect(JSON.stringify(world.rt.account.webhooks.received)).not.toContain('evil.example');
  });

  it('decide refuses a name or reason with control characters, naming the character', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    const name = await cliDecide(world, releaseId, 'bob@example.com\nApprove: https://evil.example');
    expect(name.error).toMatch(/the approver name contains a control character \(U\+000a/);
    const reason = await cliDecide(world, releaseId, 'bob@example.com', 'reject', 'no\u2028Approve: x');
    expect(reason.error).toMatch(/the reason contains a control character \(U\+2028/);
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');
  });
});

describe('only our own page decides (issue 14, case 7)', () => {
  it('refuses cross-site POSTs carrying the signed fields, and accepts the page and plain clients', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const page = await http(approve);
    const fields = formFields(page.body, 'approve');
    const url = new URL(approve);
    url.search = '';
    const body = new URLSearchParams(fields).toString();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const attempts: Record<string, string>[] = [
      { ...form, origin: 'https://evil.example' },
      { ...form, 'sec-fetch-site': 'cross-site' },
      { ...form, 'sec-fetch-site': 'same-site', origin: 'https://sub.example' },
      { 'content-type': 'text/plain', origin: url.origin },
      { ...form, origin: 'null' },
    ];
    for (const headers of attempts) {
      const refused = await http(url.toString(), { method: 'POST', body, headers });
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(refused.body).toContain('Nothing was decided');
    }
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');
    // The page itself, as a browser sends it: the page's no-referrer policy makes the Origin `null`,
    // and Fetch Metadata says same-origin (the real browser's POST: test/browser).
    const own = await http(url.toString(), {
      method: 'POST',
      body,
      headers: { ...form, origin: 'null', 'sec-fetch-site': 'same-origin' },
    });
    expect(own.status, own.body).toBe(200);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });
});

describe('the page at 2 a.m.', () => {
  it('says which version is replaced, gives the deadline in the target time zone too, and after deciding says where to follow the release', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const page = await http(approve);
    const live = EcrModel.digestOf('orders-api', 'v1');
    const next = EcrModel.digestOf('orders-api', 'v2');
    const row = page.body.match(/<tr><th>Replaces<\/th><td>([^<]*)<\/td><\/tr>/)?.[1];
    expect(row).toBe(`v1 (${live.slice(0, 19)}) → v2 (${next.slice(0, 19)})`);
    // orders-api sets timeZone Europe/Berlin (UTC+1 in January): the deadline in both.
    const deadline = page.body.match(/<p class="deadline" id="deadline">([^<]*)<\/p>/)?.[1] ?? '';
    const [, utc, berlin] = deadline.match(/by (\d{4}-\d\d-\d\d \d\d:\d\d) UTC, (.+?)\)/) ?? [];
    expect(berlin).toBe(
      `${String((Number(utc?.slice(11, 13)) + 1) % 24).padStart(2, '0')}:${utc?.slice(14, 16)} Europe/Berlin`,
    );
    expect(approvalEmails(world.rt, releaseId)[0]?.body).toContain(
      `Replaces: v1 (${live.slice(0, 19)}) → v2`,
    );

    const { result } = await decideThroughPage(approve, 'approve');
    expect(result.status).toBe(200);
    const follow = result.body.match(/<p id="follow">([\s\S]*?)<\/p>/)?.[1] ?? '';
    const executionArn = world.rt.executions().find((e) => e.name === releaseId)?.executionArn as string;
    expect(follow).toContain(
      `href="https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${encodeURIComponent(executionArn)}"`,
    );
    expect(follow).toContain('<code>switchyard history --target orders-api</code>');
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });
});

describe('one client is limited on its own (issue 14, case 8)', () => {
  it('a client flooding the approval API is blocked by WAF within 30 s; an approver at another address then decides while the flood goes on', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const bogus = `${world.rt.approvalBaseUrl}/approvals/${'A'.repeat(24)}`;
    const attacker = '127.0.0.66';
    const approver = '127.0.0.77';
    const attackerStatuses = new Map<number, number>();
    // 40 page requests a virtual second: 4x the method's throttle.
    const burst = async () => {
      const answers = await Promise.all(Array.from({ length: 40 }, () => http(bogus, { from: attacker })));
      for (const a of answers) attackerStatuses.set(a.status, (attackerStatuses.get(a.status) ?? 0) + 1);
    };
    const floodOneSecond = async () => {
      await burst();
      await world.rt.wait(1);
    };
    // Start just after one of WAF's checks (every 30 virtual seconds, local/api-front.ts): the
    // flood then has the longest run AWS could give it before the next check.
    await world.rt.wait((30_000 - (Date.now() % 30_000)) / 1000 + 0.5);
    const started = Date.now();

    // While WAF has not counted the flood yet, the shared method throttle is empty for everyone.
    for (let s = 0; s < 5; s++) await floodOneSecond();
    await burst();
    const early = await http(approve, { from: approver });
    expect(early.status).toBe(429);
    expect(early.body).toBe('{"message":"Too Many Requests"}');

    // At WAF's next check the flooding address is blocked (its own 429, before API Gateway counts
    // it), the method's bucket refills, and the approver decides, the flood still going on.
    while (Date.now() - started < 40_000) await floodOneSecond();
    await burst();
    const { page, result } = await decideThroughPage(approve, 'approve', undefined, approver);
    expect([page.status, result.status]).toEqual([200, 200]);
    await floodOneSecond();
    const blocked = await http(bogus, { from: attacker });
    expect(blocked.status).toBe(429);
    expect(blocked.body).toBe(BLOCKED_RESPONSE.body);
    expect(world.rt.apiFront.answered.get('waf 429')).toBeGreaterThan(300);
    // Before: the only limit was the method's shared bucket; the flood kept everyone at 429.
    expect(attackerStatuses.get(429)).toBeGreaterThan(attackerStatuses.get(404) ?? 0);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });
});

describe('Slack is acknowledged first (issue 14, case 10)', () => {
  it('the click gets its empty 200 before any table read or decision; the decision follows and replaces the buttons', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    const [record] = await approvalsOf(world.rt, releaseId);
    const callsBefore = world.rt.account.callLog.length;
    const dynamoBefore = world.rt.dynamoLog.length;
    const responseUrl = world.rt.account.webhooks.url('/slack-response/ack-first');
    const ack = await sendSlackClick(world.rt, {
      approvalId: record?.approvalId as string,
      userId: 'U0BOB0001',
      action: 'approve',
      responseUrl,
    });
    expect([ack.status, ack.body]).toEqual([200, '']);
    // What the acknowledging function did: one asynchronous invoke (its signing secret was read at
    // most once). Before: it read the approval, decided (DynamoDB + SendTaskSuccess) and posted to
    // response_url, all before Slack got its answer.
    const byAck = world.rt.account.callLog
      .slice(callsBefore)
      .filter((c) => c.by === 'slack-interactions')
      .map((c) => c.call);
    expect(byAck.filter((c) => c !== 'SecretsManager.GetSecretValue')).toEqual(['Lambda.Invoke']);
    expect(world.rt.dynamoLog.slice(dynamoBefore).filter((c) => c.by === 'slack-interactions')).toEqual([]);
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');
    expect(world.rt.account.webhooks.received.filter((r) => r.path === '/slack-response/ack-first')).toEqual(
      [],
    );

    await world.rt.runUntil(
      () => world.rt.account.webhooks.received.some((r) => r.path === '/slack-response/ack-first'),
      60,
    );
    expect(
      world.rt.account.webhooks.received.find((r) => r.path === '/slack-response/ack-first')?.body,
    ).toEqual({ replace_original: true, text: 'orders-api (prod): Approved by bob@example.com' });
    expect(await finish(world, releaseId)).toMatchObject({ outcome: 'Promoted' });
  });

  it('a decision whose attempt fails is retried by Lambda a minute later, the person told meanwhile; one failing every attempt is dead-lettered, and the next click decides', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    const [record] = await approvalsOf(world.rt, releaseId);
    const click = () =>
      clickSlackButton(world.rt, {
        approvalId: record?.approvalId as string,
        userId: 'U0BOB0001',
        action: 'reject',
      });
    const unreadable = (times: number) =>
      world.rt.faults.arm({
        api: [
          {
            service: 'DynamoDB',
            operation: 'GetItem',
            folder: 'slack-decisions',
            error: 'InternalServerError',
            times,
          },
        ],
      });
    const tryingAgain =
      'Switchyard could not take this decision yet; it tries again shortly. If no decision follows within 5 minutes, click again.';

    // Every attempt fails (the first and Lambda's two retries): the click is dead-lettered, nothing decided.
    unreadable(3);
    const lost = await click();
    await world.rt.runUntil(() => world.rt.account.lambda.inFlight === 0, 600);
    expect(lost.status).toBe(200);
    // Told each time, and plainly the last time (before: "it tries again" after the last attempt too).
    expect(lost.replies.map((r) => r.text)).toEqual([
      tryingAgain,
      tryingAgain,
      'Switchyard could not take this decision, and has stopped trying: nothing was decided. Click the button again.',
    ]);
    expect(world.rt.account.lambda.deadLetters.map((d) => [d.functionName, d.attempts])).toEqual([
      ['switchyard-slack-decisions', 3],
    ]);
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');

    // Only the first attempt fails: Lambda's retry decides, a minute later.
    unreadable(1);
    const before = Date.now();
    const retried = await click();
    expect(retried.replies.map((r) => r.text)).toEqual([
      tryingAgain,
      'orders-api (prod): Rejected by bob@example.com',
    ]);
    expect(Date.now() - before).toBeGreaterThanOrEqual(60_000);
    expect(await finish(world, releaseId)).toMatchObject({ outcome: 'Aborted' });
    const [decided] = await approvalsOf(world.rt, releaseId);
    expect(decided).toMatchObject({ status: 'REJECTED', decidedBy: ['bob@example.com'], channel: 'slack' });
  });
});
