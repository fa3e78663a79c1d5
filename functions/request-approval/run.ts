import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { analysisDetails } from '../shared/analysis/text.ts';
import { type ApprovalRecord, deliverDecision, describeDecision } from '../shared/approvals.ts';
import { plainLine, slackText } from '../shared/channel-text.ts';
import { findTarget, type Target } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { InvalidInput, ResourceNotFound, RollbackRequested, TransientError } from '../shared/errors.ts';
import { statePublisher } from '../shared/events.ts';
import { haltReason } from '../shared/halt.ts';
import { healthDetails } from '../shared/health-text.ts';
import { type AnyHookPlan, hookAction } from '../shared/hooks.ts';
import { identityMap, normaliseIdentity, resolveIdentity } from '../shared/identity.ts';
import { logger } from '../shared/logger.ts';
import { postSlack } from '../shared/notifications.ts';
import { evidenceDetails } from '../shared/promotion.ts';
import type { Plan } from '../shared/schemas.ts';
import { signingKey } from '../shared/secrets.ts';
import { approvalIdFor, linkQuery } from '../shared/signing.ts';
import { runningVersion, versionText } from '../shared/versions.ts';
import { TriggerSource } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  | 'targets'
  | 'store'
  | 'approvals'
  | 'ses'
  | 'sfn'
  | 'secrets'
  | 'ecs'
  | 'ecr'
  | 'now'
  | 'events'
  | 'eventBus'
> & {
  keySecret: string;
  /** The approval API's URL (API Gateway; locally the loopback server). */
  baseUrl: string;
};

/**
 * What the live colour runs now (its task definition's image in ECR), as the page shows it. A read
 * that fails does not hold the approval up: the row says the version could not be read.
 */
const liveVersion = async (target: Target, plan: Input['plan'], deps: Deps): Promise<string> => {
  try {
    const live = await runningVersion(
      deps,
      { repository: target.image.repository, container: plan.container },
      plan.fromTaskDefinitionArn,
    );
    return live.image
      ? versionText(live)
      : `unknown (no container ${plan.container} in the live task definition)`;
  } catch (error) {
    logger.warn('could not read the live version', { error: error as Error });
    return `unknown (could not be read: ${(error as Error).name})`;
  }
};

/**
 * Parks the release for a human decision: stores the approval (the task token stays in DynamoDB),
 * then asks each approver on the target's channels. Email: one SES email to each approver's own
 * address, with links signed for that approver only (before, they went to the shared release topic,
 * where any subscriber without a filter read every approver's links). Slack: a message with
 * Approve / Reject buttons whose value is the approval id; the click is signed by Slack and mapped
 * to an approver. If no channel took the request the step fails, saying why, rather than wait unseen.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const approval = target.approval;
  if (!approval?.required) throw new InvalidInput(`${target.name} does not require approval`);
  const release = await deps.store.getRelease(input.releaseId);
  if (!release) throw new ResourceNotFound(`release record ${input.releaseId} not found`);
  // A rollback asked this release to stop (perhaps cancelling the approval an earlier attempt of
  // this step made): it asks nobody again.
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(halted);
  const now = deps.now();
  // Step Functions times the wait out timeoutMinutes after the state was entered (before this
  // function even started); the deadline ends DEADLINE_MARGIN_SECONDS sooner, so no decision can
  // win its write after the task has timed out and be shown as taken while the release cleans up.
  const entered = input.enteredAt ? Date.parse(input.enteredAt) : now.getTime();
  const deadline = Math.floor(entered / 1000) + approval.timeoutMinutes * 60 - DEADLINE_MARGIN_SECONDS;
  const { plan } = input;
  // A push names nobody; CloudTrail's PutImage record does, when it has arrived (record-pusher).
  const pushed = release.trigger.source === TriggerSource.EcrPush && release.image !== undefined;
  const pushers =
    pushed && release.image ? await deps.store.pushersOf(release.image.repository, release.image.digest) : [];
  const requestedBy = release.trigger.by ?? (pushers.length > 0 ? pushers.join(', ') : undefined);
  const details: Record<string, string> = {
    Target: `${target.name} (${target.environment})`,
    Image: release.image ? `${release.image.repository}:${release.image.tag}` : '?',
    Digest: release.image?.digest ?? '?',
    Replaces: `${await liveVersion(target, plan, deps)} → ${release.image ? versionText(release.image) : '?'}`,
    'Triggered by': `${release.trigger.source} (by ${requestedBy ?? 'unknown'})`,
    ...(release.promotion ? evidenceDetails(release.promotion) : {}),
    ...healthDetails(input.health, target.health.thresholds),
    Snapshot: release.snapshotId ?? 'none (no database)',
    Strategy: `${plan.strategy}: ${plan.steps.map((s) => `${s.percent}%`).join(' → ')}`,
    ...(plan.changes.length ? { 'Task definition changes': plan.changes.join('; ') } : {}),
    ...hookDetails(plan),
    ...analysisDetails(target),
    'Rollback plan':
      plan.migration === 'breaking'
        ? `none automatic once the migration has run (breaking: the old version cannot run on the new schema); restore ${release.snapshotId ?? 'the snapshot'}, then switchyard rollback --force`
        : `weights back to ${plan.fromColour} (kept warm), ${plan.toColour} scaled to 0${plan.migration === 'expand' ? '; the expand migration needs no restore' : ''}`,
    Deadline: new Date(deadline * 1000).toISOString(),
  };
  const identities = identityMap(approval.approvers);
  // Who started it, as the approver they are where an alias says so (`alice` → alice@example.com).
  // A push's requester is the first pusher who is an approver (none may approve); a pusher who is
  // no approver (a CI role, an unlisted IAM user) does not say which person is behind the image.
  const approverIds = approval.approvers.map((a) => normaliseIdentity(a.id));
  const pushingApprovers = pushers
    .map((p) => resolveIdentity(identities, p))
    .filter((p) => approverIds.includes(p));
  // A requested release's `by` is a claim (EventBridge names only the sending account): unknown.
  const requester =
    release.trigger.by && release.trigger.source !== TriggerSource.Event
      ? resolveIdentity(identities, release.trigger.by)
      : (pushingApprovers[0] ?? null);
  const twoPerson = approval.twoPerson || (requester === null && approval.twoPersonIfRequesterUnknown);
  const fresh: ApprovalRecord = {
    approvalId: approvalIdFor(input.releaseId),
    releaseId: input.releaseId,
    target: target.name,
    environment: target.environment,
    taskToken: input.taskToken,
    status: 'PENDING',
    approvers: approverIds,
    identities,
    requester,
    ...(pushed && release.image
      ? { image: { repository: release.image.repository, digest: release.image.digest } }
      : {}),
    twoPerson,
    executionArn: release.executionArn,
    deadline,
    ...(target.timeZone ? { timeZone: target.timeZone } : {}),
    createdAt: now.toISOString(),
    expiresAt: deadline + 30 * 24 * 3600,
    details,
  };
  // The requester (and whoever pushed the image) may not approve it, so they are not asked; enough
  // others must be.
  const askable = fresh.approvers.filter((a) => a !== requester && !pushingApprovers.includes(a));
  const needed = twoPerson ? 2 : 1;
  if (askable.length < needed) {
    throw new InvalidInput(
      `${target.name} needs ${needed} approver(s) other than ${requester ?? 'the requester'}, who started this release; approval.approvers has ${askable.length}`,
    );
  }
  const earlier = await earlierAttempt(fresh, input, deps);
  if (earlier?.status === 'CANCELLED')
    throw new RollbackRequested(earlier.reason ?? 'the approval was cancelled');
  if (earlier && earlier.status !== 'PENDING') {
    // A decision was recorded while this step was being retried: hand it to this attempt's token.
    const result = await deliverDecision(earlier, deps);
    return {
      approvalId: earlier.approvalId,
      channels: [],
      summary: `approval ${earlier.approvalId} was already decided (${describeDecision(result, '')}); nobody was asked again`,
    };
  }
  const record = earlier ?? fresh;
  // The CLI's approve/reject finds the approval from the release id.
  if (!earlier) await deps.store.updateRelease(input.releaseId, { approvalId: record.approvalId });

  const channels: string[] = [];
  const failures: string[] = [];
  const subject = `[switchyard] approve ${target.name} (${target.environment}) ${release.image?.tag ?? ''}?`;
  const lines = Object.entries(record.details).map(([k, v]) => `${k}: ${plainLine(v)}`);
  if (approval.channels.includes('email')) {
    const key = await signingKey(deps.secrets, deps.keySecret);
    const base = deps.baseUrl.replace(/\/$/, '');
    let sent = 0;
    const already = record.sentTo ?? new Set<string>();
    for (const approver of askable.filter((a) => !already.has(a))) {
      const link = (action: 'approve' | 'reject') =>
        `${base}/approvals/${record.approvalId}?${linkQuery(key, { approvalId: record.approvalId, action, approver, exp: record.deadline })}`;
      try {
        // Straight to this approver's own address: nobody else receives these links.
        await deps.ses.send(
          new SendEmailCommand({
            FromEmailAddress: approval.emailFrom,
            Destination: { ToAddresses: [approver] },
            Content: {
              Simple: {
                Subject: { Data: plainLine(subject).slice(0, 200), Charset: 'UTF-8' },
                Body: {
                  Text: {
                    Charset: 'UTF-8',
                    Data: [
                      `Release ${input.releaseId} is waiting for your decision, ${plainLine(approver)}.`,
                      ...lines,
                      '',
                      `Approve: ${link('approve')}`,
                      `Reject:  ${link('reject')}`,
                      '',
                      'Each link opens a confirmation page; nothing is decided until you press the button there.',
                      'These links are yours alone: do not forward this email.',
                      record.twoPerson ? 'Two different approvers must approve.' : '',
                    ].join('\n'),
                  },
                },
              },
            },
            EmailTags: [
              { Name: 'switchyard-event', Value: 'approval' },
              { Name: 'release-id', Value: input.releaseId },
            ],
          }),
        );
        sent++;
        // Recorded per approver: a retry of this step sends nobody a second set of links.
        await deps.approvals.update(record.approvalId, 'ADD sentTo :who', 'attribute_exists(approvalId)', {
          ':who': new Set([approver]),
        });
      } catch (error) {
        logger.warn('notification failed', { channel: 'email', approver, error: error as Error });
        failures.push(`email to ${approver}: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    if (sent > 0 || already.size > 0) channels.push(`email (${sent + already.size})`);
    // Too few approvers reached to ever decide (e.g. SES throttled one send), and no Slack to fall
    // back on: fail so the step is retried; those already emailed are not emailed again (sentTo).
    const reached = sent + already.size;
    const slack = approval.channels.includes('slack') && !!target.notify.slackWebhookSecret;
    if (reached > 0 && reached < needed && !slack) {
      throw new TransientError(
        `only ${reached} of the ${needed} approvers needed got their links (${failures.join('; ')})`,
      );
    }
  }
  if (approval.channels.includes('slack') && target.notify.slackWebhookSecret) {
    try {
      await postSlack(deps, target.notify.slackWebhookSecret, {
        text: subject,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: slackText(subject).slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: lines.map(slackText).join('\n').slice(0, 3000) } },
          {
            type: 'actions',
            block_id: 'switchyard-approval',
            elements: [
              {
                type: 'button',
                action_id: 'approve',
                style: 'primary',
                text: { type: 'plain_text', text: 'Approve' },
                value: record.approvalId,
              },
              {
                type: 'button',
                action_id: 'reject',
                style: 'danger',
                text: { type: 'plain_text', text: 'Reject' },
                value: record.approvalId,
              },
            ],
          },
        ],
      });
      channels.push('slack');
    } catch (error) {
      logger.warn('notification failed', { channel: 'slack', error: error as Error });
      failures.push(`slack: ${(error as Error).message}`);
    }
  }
  if (channels.length === 0) {
    throw new ResourceNotFound(
      `no approval channel of ${target.name} took the request; nobody could decide${failures.length ? ` (${failures.join('; ')})` : ''}`,
    );
  }
  // On Switchyard's bus too (events.ts); best effort, like every notification.
  const publish = statePublisher(deps, target, input.releaseId, 'ApprovalRequested', {
    approvalId: record.approvalId,
    approvers: record.approvers,
    requester: record.requester,
    twoPerson: record.twoPerson,
    deadline: record.details.Deadline,
    channels,
  });
  await publish?.().catch(async (error: Error) => {
    logger.warn('notification failed', { channel: 'eventbridge', error });
    await deps.store.countNotificationFailures(input.releaseId, 1).catch(() => undefined);
  });
  return {
    approvalId: record.approvalId,
    channels,
    summary: `approval ${record.approvalId} requested on ${channels.join(', ')}, deadline ${record.details.Deadline}`,
  };
};

/**
 * What the approver lets run after saying yes (each hook, and a migration's compatibility), and the
 * preDeploy hooks that already ran before the deploy the approver is judging.
 */
export const hookDetails = (plan: Pick<Plan, 'hooks'>): Record<string, string> => {
  const text = (hooks: AnyHookPlan[]) =>
    hooks
      .map(
        (h) =>
          `${h.name} (${h.point}${h.migration ? `, ${h.migration.compatibility} migration` : ''}): ${hookAction(h)}`,
      )
      .join('; ');
  const after = [...plan.hooks.preTraffic, ...plan.hooks.postTraffic];
  return {
    ...(after.length ? { Hooks: text(after) } : {}),
    ...(plan.hooks.preDeploy.length ? { 'Hooks already run': text(plan.hooks.preDeploy) } : {}),
  };
};

/** Decisions in the wait's last seconds are refused as too late (see the deadline in run). */
export const DEADLINE_MARGIN_SECONDS = 10;

/**
 * The approval an earlier attempt of this step stored (same id: `approvalIdFor`), or undefined after
 * storing `fresh` as the first. A pending one is re-armed with this attempt's task token (each
 * attempt of a Task has its own): the links already sent keep working, same deadline.
 */
const earlierAttempt = async (
  fresh: ApprovalRecord,
  input: Input,
  deps: Pick<Deps, 'approvals'>,
): Promise<ApprovalRecord | undefined> => {
  for (let tries = 0; tries < 3; tries++) {
    const previous = await deps.approvals.get(fresh.approvalId);
    if (!previous) {
      if (await deps.approvals.putNew(fresh)) return undefined;
      continue;
    }
    if (previous.status !== 'PENDING') return { ...previous, taskToken: input.taskToken };
    const updated = await deps.approvals.update(fresh.approvalId, 'SET taskToken = :token', '#s = :pending', {
      ':token': input.taskToken,
      ':pending': 'PENDING',
    });
    if (updated) return { ...previous, taskToken: input.taskToken };
  }
  throw new TransientError(`approval ${fresh.approvalId} kept changing while this step re-armed it`);
};
