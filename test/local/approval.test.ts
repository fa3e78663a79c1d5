/**
 * Approvals end to end in the simulated account: the emailed links and the Slack buttons, served
 * over real HTTP on loopback by the same handlers API Gateway runs in AWS.
 */
import { describe, expect, it } from 'vitest';
import { decideRelease } from '../../cli/commands.ts';
import { decide } from '../../functions/shared/approvals.ts';
import { linkQuery } from '../../functions/shared/signing.ts';
import {
  approvalEmails,
  approvalsOf,
  clickSlackButton,
  decideThroughPage,
  emailedLinks,
  formFields,
  http,
  slackApprovalMessage,
} from '../../local/approver.ts';
import { LAMBDA_LIMITS } from '../../local/execution-environments.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import {
  approvalWorlds,
  cliBackend,
  depsOf,
  finish,
  isRunning,
  parkedManualRelease,
  parkedRelease,
  refuseThePagesSends,
  type ApprovalWorld as World,
} from '../support/approval-world.ts';

const start = approvalWorlds();

const approvalOf = (world: World, releaseId: string) => approvalsOf(world.rt, releaseId);

const postForm = (link: string, fields: Record<string, string>) => {
  const url = new URL(link);
  url.search = '';
  return http(url.toString(), { method: 'POST', body: new URLSearchParams(fields).toString() });
};

const linkFields = (link: string) => Object.fromEntries(new URL(link).searchParams);

describe('approvals by email link', () => {
  it('answers as API Gateway does while Lambda throttles the page’s function, then serves the page', async () => {
    const world = await start();
    const { approve } = await parkedRelease(world, 'ledger-api');
    // Other invocations hold every one of the account's concurrent executions.
    const environments = world.rt.lambda.environments;
    const held = [];
    for (let i = 0; environments.concurrency < LAMBDA_LIMITS.account; i++)
      held.push(environments.acquire(`elsewhere-${i % 10}`, true).environment);
    const refused = await http(approve);
    expect(refused.status).toBe(500);
    expect(JSON.parse(refused.body)).toEqual({ message: 'Internal server error' });
    for (const environment of held) environments.release(environment);
    const page = await http(approve);
    expect(page.status).toBe(200);
    expect(page.body).toContain('ledger-api');
  });

  it('shows the release on a no-store page, decides only on POST, and a second POST changes nothing', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const [record] = await approvalOf(world, releaseId);
    expect(record).toMatchObject({ status: 'PENDING', requester: null });

    // The email carries an opaque id and a signature, never the task token.
    const email = approvalEmails(world.rt, releaseId).find((m) => m.to.includes('bob@example.com'));
    expect(email?.body).not.toContain(record?.taskToken);
    expect(approve).toMatch(
      /\/approvals\/[A-Za-z0-9_-]{24}\?action=approve&approver=bob%40example.com&exp=\d+&sig=/,
    );
    for (const heading of [
      'Image: orders-api:v2',
      'Digest: sha256:',
      'Triggered by: ecr-push',
      'Snapshot:',
      'Strategy: all-at-once: 100%',
      'Rollback plan: weights back to blue',
    ]) {
      expect(email?.body).toContain(heading);
    }

    // A mail scanner fetching the link (GET, HEAD, again) decides nothing.
    const page = await http(approve);
    await http(approve);
    await http(approve, { method: 'HEAD' });
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'content-security-policy': expect.stringContaining("default-src 'none'"),
    });
    expect(page.body).toContain('Approve orders-api (prod)?');
    expect(page.body).toContain('orders-api:v2');
    expect(page.body).toContain(releaseId);
    expect(page.body).not.toMatch(/<script|http-equiv="refresh"|onload=/i);
    await world.rt.wait(120);
    expect((await approvalOf(world, releaseId))[0]?.status).toBe('PENDING');
    expect(isRunning(world, releaseId)).toBe(true);

    // The button's POST decides.
    const decided = await postForm(approve, formFields(page.body, 'approve'));
    expect(decided.status).toBe(200);
    expect(decided.body).toContain('Approved: the release goes on.');
    expect(decided.body).toMatch(/APPROVED by bob@example.com at \d{4}-\d\d-\d\dT.* via email/);

    // A repeated click: 409, says what was decided by whom, and changes nothing.
    const again = await postForm(approve, formFields(page.body, 'reject'));
    expect(again.status).toBe(409);
    expect(again.body).toContain('Nothing changed: this release was already decided.');
    expect(again.body).toContain('APPROVED by bob@example.com');

    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(liveWeights(world.rt, world.orders)).toEqual({ blue: 0, green: 100 });
    const approvals = release?.phases.filter((p) => p.name === 'Approval') ?? [];
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({
      status: 'succeeded',
      detail: 'approved by bob@example.com via email',
    });
    expect((await approvalOf(world, releaseId))[0]).toMatchObject({
      status: 'APPROVED',
      decidedBy: ['bob@example.com'],
      channel: 'email',
    });
    // A late look at the link shows the decision instead of buttons.
    const late = await http(approve);
    expect(late.body).toContain('Already decided');
    expect(late.body).not.toContain('<form');
  });

  it('reject → Aborted with green cleaned up; a rejection needs a reason', async () => {
    const world = await start();
    const { releaseId, reject } = await parkedRelease(world, 'orders-api', 'alice@example.com');
    const noReason = await decideThroughPage(reject, 'reject');
    expect(noReason.result.status).toBe(403);
    expect(noReason.result.body).toContain('a rejection needs a reason');
    expect((await approvalOf(world, releaseId))[0]?.status).toBe('PENDING');

    const { result } = await decideThroughPage(reject, 'reject', 'change freeze for the audit');
    expect(result.status).toBe(200);
    expect(result.body).toContain('Rejected: the release stops and cleans up.');
    const release = await finish(world, releaseId);
    expect(release).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'ApprovalRejected',
        Cause: 'rejected by alice@example.com via email: change freeze for the audit',
      },
    });
    expect(liveWeights(world.rt, world.orders)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(world.rt, world.orders)).toEqual({ blue: 4, green: 0 });
    expect(release?.phases.find((p) => p.name === 'Approval')).toMatchObject({
      status: 'failed',
      detail: 'rejected by alice@example.com via email: change freeze for the audit',
    });
    expect((await world.rt.store.getLock('orders-api'))?.owner).toBeUndefined();
    // On Switchyard's bus: started, asked, decided (by whom, through which channel) and how it ended.
    const published = world.rt.account.eventbridge.published.filter((e) => e.detail.releaseId === releaseId);
    expect(published.map((e) => e.detail.state)).toEqual([
      'Started',
      'ApprovalRequested',
      'ApprovalDecided',
      'Aborted',
    ]);
    expect(published[1]?.detail).toMatchObject({ approvers: expect.arrayContaining(['alice@example.com']) });
    expect(published[2]?.detail).toMatchObject({
      decision: 'REJECTED',
      decidedBy: ['alice@example.com'],
      channel: 'email',
      reason: 'change freeze for the audit',
    });
    expect(published[3]?.detail).toMatchObject({ error: { name: 'ApprovalRejected' } });
  });

  it('nobody deciding within the timeout → Aborted, green cleaned up, and the link then says it expired', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const parkedAt = Date.now();
    const release = await finish(world, releaseId);
    // The error names the wait and its limit (issue 18: before, "States.Timeout: States.Timeout").
    expect(release).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'States.Timeout',
        Cause: 'WaitForApproval: no decision within 3600 s (approval.timeoutMinutes)',
      },
    });
    const ended = Date.parse(release?.endedAt ?? '');
    // The timeout runs from when WaitForApproval was entered, a moment before the emails went out.
    expect(ended - parkedAt).toBeGreaterThanOrEqual(60 * 60_000 - 5_000);
    expect(ended - parkedAt).toBeLessThan(62 * 60_000);
    expect(liveWeights(world.rt, world.orders)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(world.rt, world.orders)).toEqual({ blue: 4, green: 0 });
    const late = await postForm(approve, linkFields(approve));
    expect(late.status).toBe(410);
    expect(late.body).toContain('This link has expired.');
    // Nothing was decided; the clean-up closed the approval as the release stopped.
    expect((await approvalOf(world, releaseId))[0]).toMatchObject({
      status: 'CANCELLED',
      reason: 'the release stopped before a decision (States.Timeout)',
    });
  });

  // Over HTTP the two requests tend to be served one after the other, so this checks the whole path
  // agrees with itself (one 200, one 409, one audit entry, the outcome of the winner); the test
  // below makes the race happen at the store, where the conditional write must decide it.
  it('two concurrent POSTs (approve and reject) → one 200, one 409, and the release follows the winner', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const alice = emailedLinks(world.rt, releaseId, 'alice@example.com');
    const callsBefore = world.rt.account.callLog.length;
    const [a, b] = await Promise.all([
      postForm(approve, linkFields(approve)),
      postForm(alice.reject as string, { ...linkFields(alice.reject as string), reason: 'not today' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const decidedBy = Date.now();
    const [record] = await approvalOf(world, releaseId);
    const release = await finish(world, releaseId);
    const approvals = release?.phases.filter((p) => p.name === 'Approval') ?? [];
    expect(approvals).toHaveLength(1);
    if (record?.status === 'APPROVED') {
      expect(a.status).toBe(200);
      expect(release?.outcome).toBe('Promoted');
    } else {
      expect(b.status).toBe(200);
      expect(release?.outcome).toBe('Aborted');
    }
    // Exactly one task-token call reached Step Functions.
    const tokenCalls = world.rt.account.callLog
      .slice(callsBefore)
      .filter((c) => c.call === 'SFN.SendTaskSuccess' || c.call === 'SFN.SendTaskFailure');
    expect(tokenCalls.length).toBeGreaterThan(0);
    const decisionCalls = tokenCalls.filter((c) => c.at <= decidedBy);
    expect(decisionCalls).toHaveLength(1);
  });

  it('decisions racing at the store: both read PENDING, the conditional write lets exactly one win', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    const [record] = await approvalOf(world, releaseId);
    const deps = await depsOf(world);
    const approvalId = record?.approvalId as string;
    const results = await world.rt.until(
      Promise.all([
        decide({ approvalId, approver: 'bob@example.com', action: 'approve', channel: 'cli' }, deps),
        decide(
          { approvalId, approver: 'alice@example.com', action: 'reject', channel: 'cli', reason: 'no' },
          deps,
        ),
        decide({ approvalId, approver: 'bob@example.com', action: 'approve', channel: 'cli' }, deps),
      ]),
    );
    // One decision wins. Bob's second press may find it still unconfirmed and resend the same
    // decision ('decided' again, same record); never a second, different decision.
    const decided = results.filter((r) => r.state === 'decided');
    expect(decided.length).toBeGreaterThanOrEqual(1);
    expect(
      new Set(decided.map((r) => 'record' in r && `${r.record.status} ${r.record.decidedBy}`)).size,
    ).toBe(1);
    expect(results.filter((r) => r.state !== 'decided').map((r) => r.state)).toEqual(
      Array(3 - decided.length).fill('closed'),
    );
    const winner = decided[0];
    const release = await finish(world, releaseId);
    expect(release?.phases.filter((p) => p.name === 'Approval')).toHaveLength(1);
    expect(release?.outcome).toBe(
      winner && 'record' in winner && winner.record.status === 'APPROVED' ? 'Promoted' : 'Aborted',
    );
  });

  it('a decision Step Functions does not take (throttled) stands: the page says it is not yet confirmed, and pressing again resends it', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    refuseThePagesSends(world);
    // Pressed just after a reconciler tick: the press's retries (the SDK's backoff, seconds of it) end
    // long before the next tick, which would deliver the owed decision itself (deliverOwedDecision).
    const period = (world.rt.options.reconcileEverySeconds ?? 60) * 1000;
    const sinceTick = (Date.now() - world.rt.startedAt) % period;
    await world.rt.wait((period - sinceTick) / 1000 + 5);
    const first = await decideThroughPage(approve, 'approve');
    expect(first.result.status).toBe(202);
    expect(first.result.body).toContain('Step Functions has not confirmed it yet');
    // Before: the decision was undone (PENDING again), so a second person could decide otherwise.
    expect((await approvalOf(world, releaseId))[0]).toMatchObject({
      status: 'APPROVED',
      decidedBy: ['bob@example.com'],
    });
    expect(world.rt.faults.fired.filter((f) => f.includes('SendTaskSuccess'))).toHaveLength(9);
    expect((await approvalOf(world, releaseId))[0]?.deliveredAt).toBeUndefined();
    expect(isRunning(world, releaseId)).toBe(true);

    const again = await decideThroughPage(approve, 'approve');
    expect(again.result.status).toBe(200);
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(release?.phases.filter((p) => p.name === 'Approval')).toHaveLength(1);
  });

  it('refuses altered links: another approver, action or expiry, a missing signature, an unknown id', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const fields = linkFields(approve);
    const changes: Record<string, string>[] = [
      { approver: 'mallory@example.com' },
      { approver: 'alice@example.com' },
      { action: 'reject', reason: 'x' },
      { exp: String(Number(fields.exp) + 3600) },
    ];
    for (const change of changes) {
      const forged = await postForm(approve, { ...fields, ...change });
      expect(forged.status, JSON.stringify(change)).toBe(403);
      expect(forged.body).toContain('This link is not valid');
    }
    const { sig: _, ...unsigned } = fields;
    expect((await postForm(approve, unsigned)).status).toBe(400);
    const otherId = approve.replace(/\/approvals\/[^?]+/, '/approvals/AAAAAAAAAAAAAAAAAAAAAAAA');
    expect((await postForm(otherId, fields)).status).toBe(403);
    expect((await http(approve.replace(/\/approvals\/[^?]+/, '/approvals/..%2Fetc'))).status).toBe(404);
    expect((await approvalOf(world, releaseId))[0]?.status).toBe('PENDING');
    expect(isRunning(world, releaseId)).toBe(true);
  });
});

describe('who may approve', () => {
  it('the requester of a manual release is not asked and cannot approve it, even with a correctly signed link', async () => {
    const world = await start();
    const releaseId = await parkedManualRelease(world, 'orders-api', 'v2', 'alice@example.com');
    expect(emailedLinks(world.rt, releaseId, 'alice@example.com').approve).toBeUndefined();
    const [record] = await approvalOf(world, releaseId);
    expect(record?.requester).toBe('alice@example.com');

    // A link for alice, signed with the real key (as if she had an old one), is still refused.
    const key = world.rt.account.secrets.GetSecretValue({ SecretId: 'switchyard/approval-signing-key' })
      .SecretString as string;
    const id = record?.approvalId as string;
    const exp = record?.deadline as number;
    const own = `${world.rt.approvalBaseUrl}/approvals/${id}?${linkQuery(key, { approvalId: id, action: 'approve', approver: 'alice@example.com', exp })}`;
    const refused = await postForm(own, linkFields(own));
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('alice@example.com started this release and cannot approve it');

    // Nor through her Slack button.
    const slack = await clickSlackButton(world.rt, {
      approvalId: id,
      userId: 'U0ALICE01',
      action: 'approve',
    });
    expect(slack.reply).toContain('Not allowed: alice@example.com started this release');
    expect((await approvalOf(world, releaseId))[0]?.status).toBe('PENDING');

    const bob = emailedLinks(world.rt, releaseId, 'bob@example.com');
    expect((await decideThroughPage(bob.approve as string, 'approve')).result.status).toBe(200);
    expect((await finish(world, releaseId))?.outcome).toBe('Promoted');
  });

  it('two-person rule: one approval is recorded and waits; the same person again changes nothing; a second approver decides', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'ledger-api', 'alice@example.com');
    const alice = emailedLinks(world.rt, releaseId, 'alice@example.com');
    const first = await decideThroughPage(alice.approve as string, 'approve');
    expect(first.page.body).toContain('Two different approvers must approve.');
    expect(first.result.status).toBe(202);
    expect(first.result.body).toContain('a second approver must approve too');
    const again = await decideThroughPage(alice.approve as string, 'approve');
    expect(again.result.status).toBe(202);
    await world.rt.wait(300);
    expect(isRunning(world, releaseId)).toBe(true);
    expect((await approvalOf(world, releaseId))[0]).toMatchObject({ status: 'PENDING' });

    const carol = emailedLinks(world.rt, releaseId, 'carol@example.com');
    const second = await decideThroughPage(carol.approve as string, 'approve');
    expect(second.result.status).toBe(200);
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(release?.phases.filter((p) => p.name.startsWith('Approval')).map((p) => p.detail)).toEqual([
      'approved by alice@example.com via email; a second approver is needed',
      'approved by alice@example.com and carol@example.com via email',
    ]);
  });
});

describe('switchyard approve|reject against the tables and Step Functions (the AWS path)', () => {
  it('decides as an operator on the allow-list with channel cli, and refuses others with the reason', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'ledger-api', 'alice@example.com');
    const backend = await cliBackend(world);
    const lines: string[] = [];
    const out = { line: (text: string) => lines.push(text) };
    const as = (by: string, action: 'approve' | 'reject' = 'approve', reason?: string) =>
      world.rt.until(decideRelease(backend, out, { releaseId, action, by, reason }));

    await expect(as('mallory@example.com')).rejects.toThrow(
      'mallory@example.com is not an approver of ledger-api',
    );
    await expect(
      world.rt.until(
        decideRelease(backend, out, { releaseId: 'nope', action: 'approve', by: 'bob@example.com' }),
      ),
    ).rejects.toThrow('no release nope');
    expect(await as('Bob@Example.com')).toMatchObject({
      exitCode: 0,
      json: { status: 'PENDING', approvedBy: ['bob@example.com'] },
    });
    expect(lines.at(-1)).toBe(
      `release ${releaseId}: Approval by bob@example.com recorded; a second approver is needed`,
    );
    expect(await as('carol@example.com')).toMatchObject({
      exitCode: 0,
      json: { status: 'APPROVED', decidedBy: ['bob@example.com', 'carol@example.com'] },
    });
    await expect(as('alice@example.com', 'reject', 'too late')).rejects.toThrow(
      /Already APPROVED by bob@example.com and carol@example.com at .* via cli/,
    );
    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(release?.phases.find((p) => p.name === 'Approval')?.detail).toBe(
      'approved by bob@example.com and carol@example.com via cli',
    );
  });
});

describe('approvals in Slack', () => {
  it('verifies the request signature, maps the Slack user, decides, and replaces the buttons', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    await world.rt.runUntil(() => slackApprovalMessage(world.rt, 'orders-api').approvalId !== undefined, 60);
    const { message, approvalId } = slackApprovalMessage(world.rt, 'orders-api');
    expect(approvalId).toBeDefined();
    const id = approvalId as string;
    const text = JSON.stringify(message);
    expect(text).toContain('orders-api:v2');
    expect(text).not.toContain((await approvalOf(world, releaseId))[0]?.taskToken);

    const nowSeconds = Math.floor(Date.now() / 1000);
    const refusals = [
      await clickSlackButton(world.rt, {
        approvalId: id,
        userId: 'U0BOB0001',
        action: 'approve',
        signingSecret: 'not-the-secret',
      }),
      await clickSlackButton(world.rt, {
        approvalId: id,
        userId: 'U0BOB0001',
        action: 'approve',
        timestamp: nowSeconds - 301,
      }),
      await clickSlackButton(world.rt, {
        approvalId: id,
        userId: 'U0BOB0001',
        action: 'reject',
        tamper: (body) => body.replace('reject', 'approve'),
      }),
    ];
    expect(refusals.map((r) => [r.status, r.body])).toEqual([
      [401, 'refused: bad signature'],
      [401, 'refused: stale timestamp'],
      [401, 'refused: bad signature'],
    ]);
    const stranger = await clickSlackButton(world.rt, {
      approvalId: id,
      userId: 'U0STRANGER',
      action: 'approve',
    });
    expect(stranger.reply).toContain('Slack user U0STRANGER is not an approver');
    expect((await approvalOf(world, releaseId))[0]?.status).toBe('PENDING');

    const responseUrl = world.rt.account.webhooks.url('/slack-response/1');
    const click = await clickSlackButton(world.rt, {
      approvalId: id,
      userId: 'U0BOB0001',
      action: 'approve',
      responseUrl,
    });
    // Acknowledged with an empty 200 before any decision (Slack's 3-second limit); the decision's
    // answer replaces the buttons through response_url.
    expect([click.status, click.body]).toEqual([200, '']);
    expect(click.reply).toBe('orders-api (prod): Approved by bob@example.com');
    const replaced = world.rt.account.webhooks.received.find((r) => r.path === '/slack-response/1');
    expect(replaced?.body).toEqual({
      replace_original: true,
      text: 'orders-api (prod): Approved by bob@example.com',
    });

    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(release?.phases.find((p) => p.name === 'Approval')?.detail).toBe(
      'approved by bob@example.com via slack',
    );
  });
});

describe('a rollback during an approval wait', () => {
  it('cancels the approval: a click after the request is refused, nothing moves to the new version', async () => {
    const world = await start();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api', 'alice@example.com');
    world.rt.startRollback({ target: 'orders-api', reason: 'incident in progress', by: 'ops@example.com' });
    await world.rt.wait(5);

    // The approver opens the emailed link: the page says the approval was cancelled, and why.
    const page = await http(approve);
    expect(page.body).toContain('Nothing was approved: this approval was cancelled');
    expect(page.body).toContain('incident in progress');
    // Before: this approval (the signed approve link, posted) moved 100% of traffic to v2 after
    // the rollback had been asked for.
    const url = new URL(approve);
    url.search = '';
    const posted = await http(url.toString(), {
      method: 'POST',
      body: new URLSearchParams(Object.fromEntries(new URL(approve).searchParams)).toString(),
    });
    expect(posted.status).toBe(409);
    expect(posted.body).toContain('Nothing was approved: this approval was cancelled');

    const release = await finish(world, releaseId);
    expect(release).toMatchObject({ outcome: 'Aborted', error: { Error: 'RollbackRequested' } });
    expect(liveWeights(world.rt, world.orders)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(world.rt, world.orders)).toEqual({ blue: 4, green: 0 });
    expect(await world.rt.store.getLock('orders-api')).toBeUndefined();
  });
});
