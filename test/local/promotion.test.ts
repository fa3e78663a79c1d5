/**
 * Promotion across environments (test/fixtures/targets-promotion.json): shop-staging → shop-prod
 * (approval, soak 30 min, automatic) → shop-eu (soak 15 min, automatic). The same digest must have
 * ended Promoted upstream and soaked with no alarm and no rollback; the evidence travels with it.
 * Also the `Switchyard Release Requested` event any CI may send, and per-channel routing.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findTarget } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { approvalEmails, emailedLinks } from '../../local/approver.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { EVENT_BUS, LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';

const targetsFile = fileURLToPath(new URL('../fixtures/targets-promotion.json', import.meta.url));

let rt: LocalRuntime | undefined;
afterEach(async () => {
  await rt?.dispose();
  rt = undefined;
});

const world = async (faults?: FaultPlan) => {
  rt = await LocalRuntime.start({ targetsFile, ...(faults ? { faults } : {}) }, async (r) => {
    for (const name of ['shop-staging', 'shop-prod', 'shop-eu']) {
      const target = findTarget(r.targets, name);
      buildWorld(r.account, target, { liveTag: '1.0.0', targetGroup: FAST_TARGET_GROUPS });
      await serveTestListener(r.account, target);
    }
  });
  return rt;
};

const digestOf = (tag: string) => EcrModel.digestOf('shop', tag);
const record = async (r: LocalRuntime, id: string) => (await r.release(id)) as ReleaseRecord;
const states = (r: LocalRuntime, target?: string) =>
  r.account.eventbridge.published
    .filter((e) => e.bus === EVENT_BUS && e.detailType === 'Switchyard Release State Change')
    .filter((e) => !target || e.detail.target === target)
    .map((e) => String(e.detail.state));
const releasesOf = (r: LocalRuntime, target: string) =>
  r.executions().filter((e) => e.name.startsWith(`${target}-`) && !e.name.includes('rollback'));

/** Approves a parked release as bob, through the link emailed to him. */
const approveAsBob = async (r: LocalRuntime, releaseId: string) => {
  expect(await r.runUntil(() => emailedLinks(r, releaseId, 'bob@example.com').approve !== undefined)).toBe(
    true,
  );
  const { decide } = await import('../../functions/shared/approvals.ts');
  const { releaseDeps } = await import('../../functions/shared/release-deps.ts');
  const deps = releaseDeps(r.targets, r.store, r.tables.approvals);
  const approvalId = (await record(r, releaseId)).approvalId as string;
  return r.until(
    decide({ approvalId, approver: 'bob@example.com', action: 'approve', channel: 'cli' }, deps),
  );
};

/** The soak's verdict was published (it is recorded just before). */
const soakAnnounced = (r: LocalRuntime, releaseId: string) =>
  r.account.eventbridge.published.some(
    (e) => e.detail.releaseId === releaseId && String(e.detail.state).startsWith('Soak'),
  );

/** Releases `tag` to staging and runs until its soak has a verdict. */
const stagingSoaked = async (r: LocalRuntime, tag: string) => {
  r.push('shop', tag);
  const id = releaseIdFor('shop-staging', digestOf(tag));
  expect(await r.runUntil(async () => (await r.release(id))?.outcome !== undefined)).toBe(true);
  expect((await record(r, id)).outcome).toBe('Promoted');
  expect(await r.runUntil(() => soakAnnounced(r, id), 40 * 60)).toBe(true);
  return id;
};

/** Sends a `Switchyard Release Requested` event onto Switchyard's bus, as `aws events put-events` would. */
const requestRelease = (r: LocalRuntime, detail: Record<string, unknown>, source = 'ci.github') =>
  r.account.eventbridge.PutEvents({
    Entries: [
      {
        EventBusName: EVENT_BUS,
        Source: source,
        DetailType: 'Switchyard Release Requested',
        Detail: JSON.stringify(detail),
      },
    ],
  });

describe('promotion', () => {
  it('staging → soak → production (approval shows the staging evidence) → soak → eu, all by themselves', async () => {
    const r = await world();
    const staging = await stagingSoaked(r, '1.2.0-rc.1');
    const soaked = await record(r, staging);
    expect(soaked.soak).toMatchObject({ minutes: 30, status: 'completed' });
    // The soak is judged on the first reconciler tick after it ends (a minute apart at most).
    const judged = Date.parse(soaked.soak?.judgedAt ?? '') - Date.parse(soaked.soak?.endsAt ?? '');
    expect(judged).toBeGreaterThanOrEqual(0);
    expect(judged).toBeLessThanOrEqual(61_000);
    expect(states(r, 'shop-staging')).toEqual(['Started', 'TrafficShifted', 'Promoted', 'SoakCompleted']);

    // Production started by itself with the same digest, and waits for a person.
    const prod = releaseIdFor('shop-prod', digestOf('1.2.0-rc.1'));
    expect(await r.runUntil(() => emailedLinks(r, prod, 'bob@example.com').approve !== undefined)).toBe(true);
    const parked = await record(r, prod);
    expect(parked.trigger).toMatchObject({ source: 'promotion', by: `promotion of ${staging}` });
    expect(parked.image?.digest).toBe(digestOf('1.2.0-rc.1'));
    expect(parked.trafficPercent ?? 0).toBe(0);
    const email = approvalEmails(r, prod)[0]?.body ?? '';
    expect(email).toContain(`Promoted from: shop-staging (staging): ${staging} ended Promoted`);
    expect(email).toMatch(/Upstream soak: 30 min, .* completed \(30 min live with no rollback/);
    expect(email).toContain('alarms shop-staging-5xx never in ALARM');
    expect(email).toMatch(/Upstream health: succeeded: /);

    await approveAsBob(r, prod);
    expect(await r.runUntil(async () => (await r.release(prod))?.outcome !== undefined)).toBe(true);
    const done = await record(r, prod);
    expect(done.outcome).toBe('Promoted');
    expect(done.promotion).toMatchObject({ from: 'shop-staging', releaseId: staging, outcome: 'Promoted' });
    const started = r.account.eventbridge.published.find(
      (e) => e.detail.releaseId === prod && e.detail.state === 'Started',
    );
    expect(started?.detail.promotion).toMatchObject({ from: 'shop-staging', releaseId: staging });
    const decided = r.account.eventbridge.published.find(
      (e) => e.detail.releaseId === prod && e.detail.state === 'ApprovalDecided',
    );
    expect(decided?.detail).toMatchObject({
      decision: 'APPROVED',
      decidedBy: ['bob@example.com'],
      channel: 'cli',
    });

    // The chain goes on: prod soaks 15 min (what shop-eu asks), then eu releases without approval.
    const eu = releaseIdFor('shop-eu', digestOf('1.2.0-rc.1'));
    expect(await r.runUntil(async () => (await r.release(eu))?.outcome !== undefined, 40 * 60)).toBe(true);
    expect((await record(r, eu)).outcome).toBe('Promoted');
    expect((await record(r, eu)).promotion).toMatchObject({ from: 'shop-prod', releaseId: prod });
    expect((await record(r, prod)).soak).toMatchObject({ minutes: 15, status: 'completed' });
    // One release per target: the duplicated paths (reconciler ticks, redeliveries) started nothing twice.
    expect(releasesOf(r, 'shop-prod')).toHaveLength(1);
    expect(releasesOf(r, 'shop-eu')).toHaveLength(1);
    // Delivery is unordered (the bus's contract): each state once, whatever the order.
    expect([...states(r, 'shop-prod')].sort()).toEqual(
      [
        'ApprovalDecided',
        'ApprovalRequested',
        'Promoted',
        'SoakCompleted',
        'Started',
        'TrafficShifted',
      ].sort(),
    );
  });

  it('a production push of a digest never released in staging is refused by the gate, naming it; nothing moves', async () => {
    const r = await world();
    r.push('shop', '1.3.0');
    await r.settle();
    const id = releaseIdFor('shop-prod', digestOf('1.3.0'));
    const refused = await record(r, id);
    expect(refused.outcome).toBe('Aborted');
    expect(refused.error?.Error).toBe('PromotionGateClosed');
    expect(refused.error?.Cause).toContain(
      'promotion gate: shop-prod takes only images promoted in shop-staging (staging)',
    );
    expect(refused.error?.Cause).toContain('was never released there: release it to shop-staging first');
    expect(refused.trafficPercent ?? 0).toBe(0);
    expect(approvalEmails(r, id)).toEqual([]);
    // Nothing was deployed: Validate refused before any step touched ECS.
    expect(refused.phases.map((p) => p.name)).not.toContain('DeployInactiveColour');
    // A push that only the gate refuses spends none of the account's shared read rates beyond the
    // image check: Validate reads the gate from its own table before the AWS reads it makes side by
    // side. The push started shop-prod's release and shop-eu's, both refused by their gates.
    expect(r.account.callLog.filter((c) => c.by === 'validate').map((c) => c.call)).toEqual([
      'ECR.DescribeImages',
      'ECR.DescribeImages',
    ]);
  });

  it('a staging rollback during the soak fails the soak and blocks production', async () => {
    const r = await world();
    r.push('shop', '1.4.0-rc.1');
    const staging = releaseIdFor('shop-staging', digestOf('1.4.0-rc.1'));
    expect(await r.runUntil(async () => (await r.release(staging))?.outcome === 'Promoted')).toBe(true);
    r.startRollback({ target: 'shop-staging', reason: 'checkout errors seen by QA' });
    expect(await r.runUntil(() => soakAnnounced(r, staging), 40 * 60)).toBe(true);
    const failed = await record(r, staging);
    expect(failed.soak?.status).toBe('failed');
    expect(failed.soak?.detail).toMatch(
      // Caught on the first tick after it began (running), or after it ended: either fails the soak.
      /^(rolled back by shop-staging-rollback-\S+ \(RolledBack\)|shop-staging-rollback-\S+ is rolling it back): checkout errors seen by QA$/,
    );
    expect(states(r, 'shop-staging')).toContain('SoakFailed');
    // No automatic promotion, and a manual one (the prod tag pushed on the same digest) is refused.
    expect(releasesOf(r, 'shop-prod')).toEqual([]);
    r.account.ecr.push('shop', '1.4.0', { digest: digestOf('1.4.0-rc.1') });
    await r.settle();
    const prod = await record(r, releaseIdFor('shop-prod', digestOf('1.4.0-rc.1')));
    expect(prod.outcome).toBe('Aborted');
    expect(prod.error?.Cause).toMatch(
      /(was rolled back there by |is being rolled back there now \()shop-staging-rollback-/,
    );
  });

  it('an alarm during the soak fails it, naming the alarm and when', async () => {
    const r = await world();
    r.push('shop', '1.5.0-rc.1');
    const staging = releaseIdFor('shop-staging', digestOf('1.5.0-rc.1'));
    expect(await r.runUntil(async () => (await r.release(staging))?.outcome === 'Promoted')).toBe(true);
    // Ten minutes into the soak the alarm fires, and clears again before the soak ends.
    await r.runUntil(() => false, 10 * 60);
    r.account.cloudwatch.setState('shop-staging-5xx', 'ALARM', 'Threshold Crossed: 5xx');
    await r.runUntil(() => false, 60);
    r.account.cloudwatch.setState('shop-staging-5xx', 'OK', 'Threshold Crossed: ok');
    expect(await r.runUntil(() => soakAnnounced(r, staging), 40 * 60)).toBe(true);
    const failed = await record(r, staging);
    expect(failed.soak?.status).toBe('failed');
    expect(failed.soak?.detail).toMatch(/^alarm "shop-staging-5xx" went to ALARM at 20\d\d-/);
    expect(releasesOf(r, 'shop-prod')).toEqual([]);
  });

  it('break-glass passes a closed gate, and the record and approval say it was overridden', async () => {
    const r = await world();
    const id = r.startRelease({
      target: 'shop-prod',
      tag: '1.6.0',
      by: 'alice',
      breakGlass: { reason: 'hotfix for the payment outage', by: 'alice' },
    });
    expect(await r.runUntil(() => emailedLinks(r, id, 'bob@example.com').approve !== undefined)).toBe(true);
    const parked = await record(r, id);
    expect(parked.promotion?.overridden).toContain('was never released there');
    expect(approvalEmails(r, id)[0]?.body).toContain('Promotion gate: OVERRIDDEN with break-glass');
  });
});

describe('promotion meets earlier attempts', () => {
  it('a production push refused before the soak ended is tried again by the promotion, as its next attempt', async () => {
    const r = await world();
    r.push('shop', '5.0.0-rc.1');
    const staging = releaseIdFor('shop-staging', digestOf('5.0.0-rc.1'));
    expect(await r.runUntil(async () => (await r.release(staging))?.outcome === 'Promoted')).toBe(true);
    // Someone tags the digest for production during the soak: refused, still soaking.
    r.account.ecr.push('shop', '5.0.0', { digest: digestOf('5.0.0-rc.1') });
    const first = releaseIdFor('shop-prod', digestOf('5.0.0-rc.1'));
    expect(await r.runUntil(async () => (await r.release(first))?.outcome !== undefined)).toBe(true);
    expect((await record(r, first)).error?.Cause).toMatch(
      /is still soaking there \(shop-staging-\w+\) until /,
    );
    // The soak completes: the promotion starts attempt 2, linked to the refused one.
    expect(
      await r.runUntil(
        () => emailedLinks(r, `${first}-r2`, 'bob@example.com').approve !== undefined,
        40 * 60,
      ),
    ).toBe(true);
    expect((await record(r, `${first}-r2`)).retryOf).toBe(first);
  });

  it('a soak completing for a digest production already runs starts nothing: it is live', async () => {
    const r = await world();
    r.push('shop', '6.0.0-rc.1');
    const staging = releaseIdFor('shop-staging', digestOf('6.0.0-rc.1'));
    expect(await r.runUntil(async () => (await r.release(staging))?.outcome === 'Promoted')).toBe(true);
    // Break-glass put the digest in production before the soak ended.
    const prod = r.startRelease({
      target: 'shop-prod',
      tag: '6.0.0-rc.1',
      by: 'alice',
      breakGlass: { reason: 'incident 7781', by: 'alice' },
    });
    await approveAsBob(r, prod);
    expect(await r.runUntil(async () => (await r.release(prod))?.outcome === 'Promoted')).toBe(true);
    expect(await r.runUntil(() => soakAnnounced(r, staging), 40 * 60)).toBe(true);
    // prod soaks too (15 min, for shop-eu): the delivery that matters is staging's verdict.
    const fromStaging = (d: (typeof r.bus.deliveries)[number]) =>
      d.rule === 'promotions' && d.event.detail.target === 'shop-staging';
    expect(await r.runUntil(() => r.bus.deliveries.some(fromStaging), 60)).toBe(true);
    const delivery = r.bus.deliveries.find(fromStaging);
    expect(delivery?.result).toMatchObject({
      started: [],
      skipped: [{ target: 'shop-prod', reason: `${prod} promoted this image; it is live` }],
    });
    expect(releasesOf(r, 'shop-prod')).toHaveLength(1);
  });
});

describe('Switchyard Release Requested', () => {
  it('starts exactly one release, even when the event is delivered twice and sent twice', async () => {
    const r = await world({
      events: [{ detailType: 'Switchyard Release Requested', action: 'duplicate', times: 1 }],
    });
    r.account.ecr.push('shop', '2.0.0-rc.1', { silent: true });
    const detail = {
      target: 'shop-staging',
      tag: '2.0.0-rc.1',
      reason: 'nightly build 418',
      requestedBy: 'ci-bot',
    };
    expect(requestRelease(r, detail).FailedEntryCount).toBe(0);
    await r.runUntil(() => false, 5);
    requestRelease(r, detail);
    await r.settle();
    const runs = releasesOf(r, 'shop-staging');
    expect(runs).toHaveLength(1);
    const done = await record(r, runs[0]?.name ?? '');
    expect(done.outcome).toBe('Promoted');
    expect(done.trigger).toMatchObject({
      source: 'event',
      by: 'ci-bot (claimed) via ci.github, account 123456789012',
      reason: 'nightly build 418',
    });
    expect(r.faults.fired).toContain('Switchyard Release Requested: duplicate');
  });

  it('a request for an image that is live already starts nothing, and says so', async () => {
    const r = await world();
    r.push('shop', '2.3.0-rc.1');
    await r.settle();
    const live = releaseIdFor('shop-staging', digestOf('2.3.0-rc.1'));
    expect((await record(r, live)).outcome).toBe('Promoted');
    requestRelease(r, { target: 'shop-staging', tag: '2.3.0-rc.1', reason: 'redeploy' });
    await r.settle();
    const delivery = r.bus.deliveries.find((d) => d.rule === 'release-requests');
    expect(delivery?.result).toMatchObject({
      started: false,
      reason: `${live} promoted this image; it is live`,
    });
    expect(releasesOf(r, 'shop-staging')).toHaveLength(1);
  });

  it('a digest alone is enough: the tag is the one matching the target', async () => {
    const r = await world();
    const { digest } = r.account.ecr.push('shop', '2.1.0-rc.2', { silent: true });
    requestRelease(r, { target: 'shop-staging', digest, reason: 'rebuild' });
    await r.settle();
    const done = await record(r, releaseIdFor('shop-staging', digest));
    expect(done.image).toEqual({ repository: 'shop', tag: '2.1.0-rc.2', digest });
  });

  it.each([
    [{ target: 'shop-staging', tag: '2.2.0-rc.1' }, /reason: .*expected string, received undefined/],
    [
      { target: 'nope', tag: '2.2.0-rc.1', reason: 'x y z' },
      /target: no target "nope" \(configured: shop-staging, shop-prod, shop-eu\)/,
    ],
    [{ target: 'shop-staging', reason: 'x y z' }, /tag: name the image: tag, digest, or both/],
    [{ target: 'shop-staging', tag: '2.2.0', reason: 'x y z' }, /does not match shop-staging's tagPattern/],
    [
      { target: 'shop-staging', tag: '9.9.9-rc.9', reason: 'x y z' },
      /ECR repository shop has no image with tag "9.9.9-rc.9"/,
    ],
    [
      { target: 'shop-staging', tag: '2.2.0-rc.1', digest: `sha256:${'a'.repeat(64)}`, reason: 'x y z' },
      /has no image with digest sha256:a{64}/,
    ],
    [{ target: 'shop-staging', tag: '2.2.0-rc.1', reason: 'x y z', extra: 1 }, /Unrecognized key: "extra"/],
  ])('a malformed request %j is rejected with what is wrong, and nothing starts', async (detail, message) => {
    const r = await world();
    r.account.ecr.push('shop', '2.2.0-rc.1', { silent: true });
    requestRelease(r, detail);
    await r.settle();
    expect(r.executions()).toEqual([]);
    const delivery = r.bus.deliveries.find((d) => d.rule === 'release-requests');
    expect(delivery?.ok, 'handled, not thrown (a retry would fail the same way)').toBe(true);
    expect(r.bus.deadLetters).toEqual([]);
    expect((delivery?.result as { rejected?: string } | undefined)?.rejected).toMatch(message);
  });
});

describe('notification routing', () => {
  it('Teams gets failures only, Slack outcomes and soaks; SNS gets everything', async () => {
    const r = await world();
    // Slack's text, or the Teams card's title (Teams text escapes Markdown: the backslashes go).
    const subjects = (channel: string) =>
      r.account.webhooks.received
        .filter((w) => w.path === `/${channel}/shop-prod`)
        .map((w) => {
          const body = w.body as { text?: string; attachments?: { content: { body: { text: string }[] } }[] };
          return (body.text ?? body.attachments?.[0]?.content.body[0]?.text ?? '').replace(/\\/g, '');
        });
    // A failure first: a digest production may not take (the gate) → Aborted.
    r.push('shop', '3.9.0');
    await r.settle();
    expect(subjects('teams')).toEqual(['[switchyard] shop-prod (prod) 3.9.0: Aborted']);
    // Then a promotion that succeeds: Teams hears nothing more, Slack only the outcome.
    await stagingSoaked(r, '3.0.0-rc.1');
    const prod = releaseIdFor('shop-prod', digestOf('3.0.0-rc.1'));
    await approveAsBob(r, prod);
    expect(await r.runUntil(async () => (await r.release(prod))?.announcedAt !== undefined)).toBe(true);
    expect((await record(r, prod)).outcome).toBe('Promoted');
    expect(subjects('teams')).toHaveLength(1);
    expect(subjects('slack')).toEqual([
      '[switchyard] shop-prod (prod) 3.9.0: Aborted',
      '[switchyard] shop-prod (prod) 3.0.0-rc.1: Promoted',
    ]);
    // SNS has no list: every notice, the start and the step included.
    const sns = r.account.sns.published.filter((m) => (m.subject ?? '').includes('shop-prod (prod)'));
    expect(sns.map((m) => m.subject)).toEqual([
      '[switchyard] shop-prod (prod) 3.9.0: Aborted',
      '[switchyard] shop-prod (prod) 3.0.0-rc.1: started',
      '[switchyard] shop-prod (prod): 100% on green',
      '[switchyard] shop-prod (prod) 3.0.0-rc.1: Promoted',
    ]);
  });
});

describe('the gate checked again before traffic moves', () => {
  it('staging rolled back while production waits for approval: production aborts at the recheck, nothing shifted', async () => {
    const r = await world();
    const staging = await stagingSoaked(r, '8.0.0-rc.1');
    const prod = releaseIdFor('shop-prod', digestOf('8.0.0-rc.1'));
    expect(await r.runUntil(() => emailedLinks(r, prod, 'bob@example.com').approve !== undefined)).toBe(true);
    const rollback = r.startRollback({ target: 'shop-staging', reason: 'data corruption found by QA' });
    expect(await r.runUntil(async () => (await r.release(rollback))?.outcome === 'RolledBack')).toBe(true);
    await approveAsBob(r, prod);
    expect(await r.runUntil(async () => (await r.release(prod))?.outcome !== undefined)).toBe(true);
    const done = await record(r, prod);
    expect(done.outcome).toBe('Aborted');
    expect(done.error?.Error).toBe('PromotionGateClosed');
    expect(done.error?.Cause).toContain(`was rolled back there by ${rollback}`);
    expect(done.error?.Cause).toContain('(it was open at Validate; checked again before traffic moves)');
    expect(done.trafficPercent ?? 0).toBe(0);
    expect(done.phases.map((p) => p.name)).not.toContain('ShiftTraffic');
    expect(staging).toMatch(/^shop-staging-/);
  });
});

describe('publishing the soak verdict', () => {
  it.each([
    ['duplicated', 'duplicate'],
    ['10 minutes late', 'delay'],
  ] as const)('a SoakCompleted delivery %s starts production once', async (_, action) => {
    const r = await world({
      events: [{ detailType: 'Switchyard Release State Change', action, delaySeconds: 600, times: 100 }],
    });
    const staging = await stagingSoaked(r, '7.0.0-rc.1');
    const prod = releaseIdFor('shop-prod', digestOf('7.0.0-rc.1'));
    expect(
      await r.runUntil(() => emailedLinks(r, prod, 'bob@example.com').approve !== undefined, 30 * 60),
    ).toBe(true);
    await r.runUntil(() => false, 15 * 60);
    expect(r.faults.fired).toContain(`Switchyard Release State Change: ${action}`);
    expect(releasesOf(r, 'shop-prod').map((e) => e.name)).toEqual([prod]);
    expect((await record(r, prod)).promotion?.releaseId).toBe(staging);
  });

  it('a PutEvents outage at the verdict delays the promotion, never loses it, and changes no outcome', async () => {
    // Every PutEvents of the reconciler fails for the first 20 calls (the SDK's and our retries).
    const r = await world({
      api: [
        {
          service: 'EventBridge',
          operation: 'PutEvents',
          folder: 'reconciler',
          error: 'InternalFailure',
          status: 500,
          times: 20,
        },
      ],
    });
    r.push('shop', '4.0.0-rc.1');
    const staging = releaseIdFor('shop-staging', digestOf('4.0.0-rc.1'));
    const prod = releaseIdFor('shop-prod', digestOf('4.0.0-rc.1'));
    expect(await r.runUntil(async () => (await r.release(prod)) !== undefined, 60 * 60)).toBe(true);
    const soaked = await record(r, staging);
    expect(soaked.outcome).toBe('Promoted');
    expect(soaked.soak?.status).toBe('completed');
    // Announced on a later tick than the one that judged it.
    expect(Date.parse(soaked.soak?.announcedAt ?? '')).toBeGreaterThan(
      Date.parse(soaked.soak?.judgedAt ?? ''),
    );
    expect(r.faults.fired.filter((f) => f.includes('PutEvents')).length).toBeGreaterThan(0);
    expect(states(r, 'shop-staging').filter((s) => s === 'SoakCompleted')).toHaveLength(1);
    expect(releasesOf(r, 'shop-prod')).toHaveLength(1);
  });
});
