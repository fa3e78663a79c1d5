import { PublishCommand } from '@aws-sdk/client-sns';
import type { ApprovalRecord } from '../shared/approvals.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { InvalidInput, ResourceNotFound, RollbackRequested } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import { logger } from '../shared/logger.ts';
import { postSlack } from '../shared/notifications.ts';
import { signingKey } from '../shared/secrets.ts';
import { linkQuery, newApprovalId } from '../shared/signing.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'approvals' | 'sns' | 'secrets' | 'now'> & {
  keySecret: string;
  /** The approval API's URL (API Gateway; locally the loopback server). */
  baseUrl: string;
};

/**
 * Parks the release for a human decision: stores the approval (the task token stays in DynamoDB),
 * then asks each approver on the target's channels. Email: one SNS message per approver, carrying
 * `approver` as a message attribute (subscribe each approver with a filter policy on it) and links
 * signed for that approver only. Slack: a message with Approve / Reject buttons whose value is the
 * opaque approval id. If no channel took the request the step fails, rather than wait unseen.
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
  const deadline = Math.floor(now.getTime() / 1000) + approval.timeoutMinutes * 60;
  const { plan } = input;
  const details: Record<string, string> = {
    Target: `${target.name} (${target.environment})`,
    Image: release.image ? `${release.image.repository}:${release.image.tag}` : '?',
    Digest: release.image?.digest ?? '?',
    'Triggered by': release.trigger.by
      ? `${release.trigger.source} (${release.trigger.by})`
      : release.trigger.source,
    Health: input.health
      ? `${String(input.health.healthyTargets ?? '?')} healthy targets${
          input.health.probes ? `; probes ${JSON.stringify(input.health.probes)}` : ''
        }`
      : 'checked',
    Snapshot: release.snapshotId ?? 'none (no database)',
    Strategy: `${plan.strategy}: ${plan.steps.map((s) => `${s.percent}%`).join(' → ')}`,
    'Rollback plan': `weights back to ${plan.fromColour} (kept warm), ${plan.toColour} scaled to 0`,
    Deadline: new Date(deadline * 1000).toISOString(),
  };
  const fresh: ApprovalRecord = {
    approvalId: newApprovalId(),
    releaseId: input.releaseId,
    target: target.name,
    environment: target.environment,
    taskToken: input.taskToken,
    status: 'PENDING',
    approvers: approval.approvers.map((a) => a.id.toLowerCase()),
    slackUsers: Object.fromEntries(
      approval.approvers.flatMap((a) => (a.slackUserId ? [[a.slackUserId, a.id.toLowerCase()]] : [])),
    ),
    requester: release.trigger.by ?? null,
    twoPerson: approval.twoPerson,
    deadline,
    createdAt: now.toISOString(),
    expiresAt: deadline + 30 * 24 * 3600,
    details,
  };
  // The requester may not approve their own release, so they are not asked; enough others must be.
  const requester = fresh.requester?.toLowerCase();
  const askable = fresh.approvers.filter((a) => a !== requester);
  const needed = approval.twoPerson ? 2 : 1;
  if (askable.length < needed) {
    throw new InvalidInput(
      `${target.name} needs ${needed} approver(s) other than ${requester ?? 'the requester'}, who started this release; approval.approvers has ${askable.length}`,
    );
  }
  const record = (await rearmed(release.approvalId, input, deps)) ?? fresh;
  if (record === fresh) {
    await deps.approvals.put(record);
    // The CLI's approve/reject finds the approval from the release id.
    await deps.store.updateRelease(input.releaseId, { approvalId: record.approvalId });
  }

  const channels: string[] = [];
  const subject = `[switchyard] approve ${target.name} (${target.environment}) ${release.image?.tag ?? ''}?`;
  const lines = Object.entries(record.details).map(([k, v]) => `${k}: ${v}`);
  if (approval.channels.includes('email')) {
    const key = await signingKey(deps.secrets, deps.keySecret);
    const base = deps.baseUrl.replace(/\/$/, '');
    let sent = 0;
    for (const approver of askable) {
      const link = (action: 'approve' | 'reject') =>
        `${base}/approvals/${record.approvalId}?${linkQuery(key, { approvalId: record.approvalId, action, approver, exp: record.deadline })}`;
      try {
        await deps.sns.send(
          new PublishCommand({
            TopicArn: target.notify.sns,
            Subject: subject.slice(0, 99),
            Message: [
              `Release ${input.releaseId} is waiting for your decision, ${approver}.`,
              ...lines,
              '',
              `Approve: ${link('approve')}`,
              `Reject:  ${link('reject')}`,
              '',
              'Each link opens a confirmation page; nothing is decided until you press the button there.',
              approval.twoPerson ? 'Two different approvers must approve.' : '',
            ].join('\n'),
            MessageAttributes: {
              event: { DataType: 'String', StringValue: 'approval' },
              approver: { DataType: 'String', StringValue: approver },
              releaseId: { DataType: 'String', StringValue: input.releaseId },
            },
          }),
        );
        sent++;
      } catch (error) {
        logger.warn('notification failed', { channel: 'email', approver, error: error as Error });
      }
    }
    if (sent > 0) channels.push(`email (${sent})`);
  }
  if (approval.channels.includes('slack') && target.notify.slackWebhookSecret) {
    try {
      await postSlack(deps, target.notify.slackWebhookSecret, {
        text: subject,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: subject.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } },
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
    }
  }
  if (channels.length === 0) {
    throw new ResourceNotFound(`no approval channel of ${target.name} took the request; nobody could decide`);
  }
  return {
    approvalId: record.approvalId,
    channels,
    summary: `approval ${record.approvalId} requested on ${channels.join(', ')}, deadline ${record.details.Deadline}`,
  };
};

/**
 * A retry of this step (an earlier attempt stored the approval, perhaps sent its links, then died):
 * the links already sent must keep working, so the pending approval is re-armed with this
 * attempt's task token (each attempt of a Task has its own) and asked for again, same links, same
 * deadline. Undefined when there is none to re-arm: a new approval is made.
 */
const rearmed = async (
  approvalId: string | undefined,
  input: Input,
  deps: Pick<Deps, 'approvals'>,
): Promise<ApprovalRecord | undefined> => {
  if (!approvalId) return undefined;
  const previous = await deps.approvals.get(approvalId);
  if (previous?.releaseId !== input.releaseId || previous.status !== 'PENDING') return undefined;
  const updated = await deps.approvals.update(approvalId, 'SET taskToken = :token', '#s = :pending', {
    ':token': input.taskToken,
    ':pending': 'PENDING',
  });
  return updated ? { ...previous, taskToken: input.taskToken } : undefined;
};
