/**
 * Approval records and the one place decisions are made. A decision is a conditional write
 * PENDING → APPROVED | REJECTED, so exactly one decision ever wins, however many clicks arrive;
 * only the winner sends the task token (approve → success, reject → failure `ApprovalRejected`).
 * With `twoPerson`, the first approval is recorded and the second distinct approver decides.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { classifyError, TransientError } from './errors.ts';
import type { ApprovalAction } from './signing.ts';
import type { Store } from './store.ts';
import { sendFailure, sendSuccess } from './task-tokens.ts';

/** CANCELLED: a rollback was requested while the release waited; no decision is taken after it. */
export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'CANCELLED';
export type Channel = 'email' | 'slack' | 'cli';

export interface ApprovalRecord {
  approvalId: string;
  releaseId: string;
  target: string;
  environment: string;
  taskToken: string;
  status: ApprovalStatus;
  /** Allowed approvers (lowercase emails). */
  approvers: string[];
  /** Slack user id → approver. */
  slackUsers: Record<string, string>;
  /** Who started the release; never allowed to approve it. */
  requester: string | null;
  twoPerson: boolean;
  /** Approvers who approved so far (two-person: the first one, until the second decides). */
  approvedBy?: Set<string>;
  decidedBy?: string[];
  decidedAt?: string;
  channel?: Channel;
  reason?: string;
  /** Epoch seconds after which no decision is taken. */
  deadline: number;
  createdAt: string;
  /** DynamoDB TTL, epoch seconds. */
  expiresAt: number;
  /** What the confirmation page and the messages show. */
  details: Record<string, string>;
}

export type DecisionResult =
  | { state: 'decided'; record: ApprovalRecord }
  | { state: 'recorded'; record: ApprovalRecord }
  | { state: 'closed'; record: ApprovalRecord }
  | { state: 'cancelled'; record: ApprovalRecord }
  | { state: 'expired'; record: ApprovalRecord }
  | { state: 'refused'; reason: string }
  | { state: 'undelivered'; reason: string };

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException ||
  (error as Error).name === 'ConditionalCheckFailedException';

export const approvalStore = (doc: DynamoDBDocumentClient, table: string) => ({
  async put(record: ApprovalRecord) {
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: record,
        ConditionExpression: 'attribute_not_exists(approvalId)',
      }),
    );
  },
  async get(approvalId: string): Promise<ApprovalRecord | undefined> {
    const out = await doc.send(
      new GetCommand({ TableName: table, Key: { approvalId }, ConsistentRead: true }),
    );
    return out.Item as ApprovalRecord | undefined;
  },
  /** The conditional write; false when the condition did not hold. */
  async update(approvalId: string, expression: string, condition: string, values: Record<string, unknown>) {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { approvalId },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  },
});
export type ApprovalStore = ReturnType<typeof approvalStore>;

export interface DecideDeps {
  approvals: ApprovalStore;
  store: Pick<Store, 'appendPhase'>;
  sfn: Pick<SFNClient, 'send'>;
  now: () => Date;
}

export interface DecisionRequest {
  approvalId: string;
  approver: string;
  action: ApprovalAction;
  channel: Channel;
  reason?: string;
}

/** Applies one decision. Refusals and late clicks are results (the page says what happened), not errors. */
export const decide = async (request: DecisionRequest, deps: DecideDeps): Promise<DecisionResult> => {
  const approver = request.approver.toLowerCase();
  const reason = request.reason?.trim().slice(0, 500) || undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    const record = await deps.approvals.get(request.approvalId);
    if (!record) return { state: 'refused', reason: 'this approval does not exist' };
    const nowSeconds = Math.floor(deps.now().getTime() / 1000);
    if (record.status === 'CANCELLED') return { state: 'cancelled', record };
    if (record.status !== 'PENDING') return { state: 'closed', record };
    if (nowSeconds >= record.deadline) return { state: 'expired', record };
    if (!record.approvers.includes(approver)) {
      return { state: 'refused', reason: `${approver} is not an approver of ${record.target}` };
    }
    if (record.requester && record.requester.toLowerCase() === approver) {
      return { state: 'refused', reason: `${approver} started this release and cannot approve it` };
    }
    if (request.action === 'reject' && !reason) {
      return { state: 'refused', reason: 'a rejection needs a reason' };
    }
    const at = deps.now().toISOString();
    const common = { ':pending': 'PENDING', ':now': nowSeconds, ':at': at, ':channel': request.channel };
    const pendingAndOpen = '#s = :pending AND deadline > :now';
    const approvedBefore = record.approvedBy ? [...record.approvedBy] : [];

    if (request.action === 'approve' && record.twoPerson && approvedBefore.length === 0) {
      const first = await deps.approvals.update(
        request.approvalId,
        'ADD approvedBy :me',
        `${pendingAndOpen} AND attribute_not_exists(approvedBy)`,
        { ':pending': 'PENDING', ':now': nowSeconds, ':me': new Set([approver]) },
      );
      if (!first) continue;
      await deps.store.appendPhase(record.releaseId, {
        name: 'ApprovalVote',
        startedAt: at,
        endedAt: at,
        status: 'succeeded',
        detail: `approved by ${approver} via ${request.channel}; a second approver is needed`,
      });
      return { state: 'recorded', record: { ...record, approvedBy: new Set([approver]) } };
    }
    if (request.action === 'approve' && record.twoPerson && approvedBefore.includes(approver)) {
      return { state: 'recorded', record };
    }

    const status: ApprovalStatus = request.action === 'approve' ? 'APPROVED' : 'REJECTED';
    const decidedBy = request.action === 'approve' ? [...approvedBefore, approver] : [approver];
    const won = await deps.approvals.update(
      request.approvalId,
      `SET #s = :status, decidedBy = :by, decidedAt = :at, channel = :channel${reason ? ', reason = :reason' : ''}`,
      record.twoPerson && request.action === 'approve'
        ? `${pendingAndOpen} AND size(approvedBy) = :one AND NOT contains(approvedBy, :meText)`
        : pendingAndOpen,
      {
        ...common,
        ':status': status,
        ':by': decidedBy,
        ...(reason ? { ':reason': reason } : {}),
        ...(record.twoPerson && request.action === 'approve' ? { ':one': 1, ':meText': approver } : {}),
      },
    );
    if (!won) continue;
    const decided: ApprovalRecord = {
      ...record,
      status,
      decidedBy,
      decidedAt: at,
      channel: request.channel,
      ...(reason ? { reason } : {}),
    };
    const who = `${decidedBy.join(' and ')} via ${request.channel}`;
    try {
      const delivered =
        status === 'APPROVED'
          ? await sendSuccess(deps.sfn, record.taskToken, {
              approvedBy: decidedBy,
              at,
              channel: request.channel,
            })
          : await sendFailure(
              deps.sfn,
              record.taskToken,
              'ApprovalRejected',
              `rejected by ${who}: ${reason ?? ''}`,
            );
      // The token's task is closed: the step that asked is being retried and will re-arm this
      // approval with its new token in a moment (request-approval), so nothing was decided yet.
      if (!delivered) throw new TransientError('the approval wait is being re-armed');
    } catch (error) {
      // Step Functions did not take it (throttled, 5xx): undo the decision, so the record never says
      // APPROVED while the release still waits, and the person can simply press the button again.
      if (!(classifyError(error) instanceof TransientError)) throw error;
      await deps.approvals.update(
        request.approvalId,
        'SET #s = :pending REMOVE decidedBy, decidedAt, channel, reason',
        '#s = :status AND decidedAt = :at',
        { ':pending': 'PENDING', ':status': status, ':at': at },
      );
      return { state: 'undelivered', reason: 'Step Functions did not take the decision just now' };
    }
    await deps.store.appendPhase(record.releaseId, {
      name: 'Approval',
      startedAt: record.createdAt,
      endedAt: at,
      status: status === 'APPROVED' ? 'succeeded' : 'failed',
      detail: `${status === 'APPROVED' ? 'approved' : 'rejected'} by ${who}${reason ? `: ${reason}` : ''}`,
    });
    return { state: 'decided', record: decided };
  }
  const record = await deps.approvals.get(request.approvalId);
  if (record?.status === 'CANCELLED') return { state: 'cancelled', record };
  return record ? { state: 'closed', record } : { state: 'refused', reason: 'this approval does not exist' };
};

/**
 * Closes a pending approval because a rollback was requested (PENDING → CANCELLED, so no click
 * after it can approve), then fails the waiting task with `RollbackRequested`: the release cleans
 * up and ends Aborted. Returns false when a decision had already won. Sending again on a retry is
 * harmless (a closed task reports itself closed).
 */
export const cancelApproval = async (
  approvalId: string,
  cause: string,
  deps: Pick<DecideDeps, 'approvals' | 'sfn' | 'now'>,
): Promise<boolean> => {
  await deps.approvals.update(
    approvalId,
    'SET #s = :cancelled, reason = :reason, decidedAt = :at',
    '#s = :pending',
    { ':cancelled': 'CANCELLED', ':pending': 'PENDING', ':reason': cause, ':at': deps.now().toISOString() },
  );
  const record = await deps.approvals.get(approvalId);
  if (record?.status !== 'CANCELLED') return false;
  // False when its task had already closed (timed out, or a retry is about to re-arm it).
  return sendFailure(deps.sfn, record.taskToken, 'RollbackRequested', cause);
};

/** What a decision came to, in one sentence for Slack and the CLI (the web page has its own). */
export const describeDecision = (result: DecisionResult, approver: string): string => {
  const who = (r: ApprovalRecord) =>
    `${(r.decidedBy ?? []).join(' and ')} at ${r.decidedAt} via ${r.channel}`;
  switch (result.state) {
    case 'decided':
      return `${result.record.status === 'APPROVED' ? 'Approved' : 'Rejected'} by ${(result.record.decidedBy ?? []).join(' and ')}`;
    case 'recorded':
      return `Approval by ${approver} recorded; a second approver is needed`;
    case 'closed':
      return `Already ${result.record.status} by ${who(result.record)}`;
    case 'cancelled':
      return `Nothing was approved: the approval was cancelled at ${result.record.decidedAt} (${result.record.reason ?? 'a rollback was requested'})`;
    case 'expired':
      return 'Too late: the time to decide has run out';
    case 'undelivered':
      return 'Nothing was decided: Switchyard could not reach Step Functions just now. Try again.';
    default:
      return `Not allowed: ${result.reason}`;
  }
};
