/**
 * Approvals that cannot be abused or lose a decision (issue 14): decisions are never undone blindly,
 * one approval per release wait however often the step is retried, identities are normalised and
 * aliased, free text cannot forge lines, and only our own page may POST a decision.
 */
import { describe, expect, it } from 'vitest';
import { decideRelease } from '../../cli/commands.ts';
import { linkQuery } from '../../functions/shared/signing.ts';
import {
  approvalsOf,
  clickSlackButton,
  decideThroughPage,
  emailedLinks,
  formFields,
  http,
} from '../../local/approver.ts';
import {
  approvalWorlds,
  finish,
  isRunning,
  parkedManualRelease,
  parkedRelease,
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
) => {
  const { releaseDeps } = await import('../../functions/shared/release-deps.ts');
  const deps = releaseDeps(world.rt.targets, world.rt.store, world.rt.tables.approvals);
  const backend = { store: world.rt.store, approvals: deps.approvals, now: () => new Date(), clients: deps };
  const lines: string[] = [];
  try {
    const result = await world.rt.until(
      decideRelease(backend as never, { line: (t) => lines.push(t) }, { releaseId, action, by, reason }),
    );
    return { ok: true, result, lines };
  } catch (error) {
    return { ok: false, error: (error as Error).message, lines };
  }
};

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
          timeoutSeconds: 5,
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

  it('a decision that arrives after the release ended is recorded as not taken, never as approved', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const page = await http(approve);
    // The release is stopped while bob reads the page; his token is closed when he presses.
    world.rt.stopExecution(releaseId);
    await world.rt.settle();
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
    const toBob = world.rt.account.sns.published.filter(
      (m) => m.attributes.approver === 'bob@example.com' && m.attributes.releaseId === releaseId,
    );
    expect(toBob).toHaveLength(1);
    expect((await decideThroughPage(approve, 'approve')).result.status).toBe(200);
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
      expect(click.body).toContain(`Slack user ${userId} is not an approver of this release`);
    }
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');
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
    expect(world.rt.account.sns.published.filter((m) => m.attributes.event === 'approval')).toEqual([]);
    const all = world.rt.account.sns.published.map((m) => m.message).join('\n');
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
