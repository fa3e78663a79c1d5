/**
 * Approval records and the one place decisions are made. A decision is a conditional write
 * PENDING → APPROVED | REJECTED, so exactly one decision ever wins, however many clicks arrive;
 * only the winner sends the task token (approve → success, reject → failure `ApprovalRejected`).
 * With `twoPerson`, the first approval is recorded and the second distinct approver decides.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { classifyError, isRetryable } from './errors.ts';
import { type EventsDeps, statePublisher } from './events.ts';
import { executionStatus } from './executions.ts';
import { controlCharacterProblem, type IdentityMap, resolveIdentity } from './identity.ts';
import { logger } from './logger.ts';
import { type ApprovalAction, approvalIdFor } from './signing.ts';
import { momentPhase, type Store } from './store.ts';
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
  /** Allowed approvers (normalised emails). */
  approvers: string[];
  /** Every name of an approver (id, aliases, Slack user id), normalised → approver id (identity.ts). */
  identities?: IdentityMap;
  /** Before identities: Slack user id → approver. Read for approvals stored by earlier versions. */
  slackUsers?: Record<string, string>;
  /** Who started the release, as an approver id where they are one; null when unknown. Never allowed to approve it. */
  requester: string | null;
  /**
   * The pushed image (releases started by a push): CloudTrail may name its pushers after the
   * approvers were asked, so every decision looks again (record-pusher), and no pusher decides.
   */
  image?: { repository: string; digest: string };
  twoPerson: boolean;
  /** The release's execution: asked when it is unclear whether a decision reached it. */
  executionArn?: string;
  /** Approvers whose links were sent (a retried request sends no second set). */
  sentTo?: Set<string>;
  /** Set once Step Functions confirmed the decision (or its wait had moved on with it). */
  deliveredAt?: string;
  /** Approvers who approved so far (two-person: the first one, until the second decides). */
  approvedBy?: Set<string>;
  decidedBy?: string[];
  decidedAt?: string;
  channel?: Channel;
  reason?: string;
  /** Epoch seconds after which no decision is taken. */
  deadline: number;
  /** The target's IANA time zone, if it sets one: the page shows the deadline in it too. */
  timeZone?: string;
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
  /** The decision is recorded and stands, but Step Functions has not confirmed it yet. */
  | { state: 'unconfirmed'; record: ApprovalRecord };

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException ||
  (error as Error).name === 'ConditionalCheckFailedException';

export const approvalStore = (doc: DynamoDBDocumentClient, table: string) => ({
  /** Stores a new approval; false when one with its id exists already. */
  async putNew(record: ApprovalRecord): Promise<boolean> {
    try {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: record,
          ConditionExpression: 'attribute_not_exists(approvalId)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
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
          // DynamoDB refuses a name the expressions do not use.
          ...(`${expression} ${condition}`.includes('#s')
            ? { ExpressionAttributeNames: { '#s': 'status' } }
            : {}),
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

export interface DecideDeps extends EventsDeps {
  approvals: ApprovalStore;
  store: Pick<Store, 'appendPhase' | 'pushersOf' | 'getRelease'>;
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
  const problem =
    controlCharacterProblem('the approver name', request.approver) ??
    controlCharacterProblem('the reason', request.reason ?? '');
  if (problem) return { state: 'refused', reason: problem };
  const reason = request.reason?.trim().slice(0, 500) || undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    const record = await deps.approvals.get(request.approvalId);
    if (!record) return { state: 'refused', reason: 'this approval does not exist' };
    const approver = resolveIdentity(record.identities, request.approver);
    const nowSeconds = Math.floor(deps.now().getTime() / 1000);
    if (record.status === 'CANCELLED') return { state: 'cancelled', record };
    if (record.status !== 'PENDING') {
      // A decision Step Functions has not confirmed: the person who made it may press again to resend it.
      const same = record.status === (request.action === 'approve' ? 'APPROVED' : 'REJECTED');
      if (same && !record.deliveredAt && record.decidedBy?.includes(approver)) {
        return deliverDecision(record, deps);
      }
      return { state: 'closed', record };
    }
    if (nowSeconds >= record.deadline) return { state: 'expired', record };
    if (!record.approvers.includes(approver)) {
      return {
        state: 'refused',
        reason: `${approver} is not an approver of ${record.target}${
          approver.startsWith('arn:')
            ? ' (an approver lists the IAM ARNs they decide as in approval.approvers[].aliases)'
            : ''
        }`,
      };
    }
    if (record.requester && resolveIdentity(record.identities, record.requester) === approver) {
      return { state: 'refused', reason: `${approver} started this release and cannot approve it` };
    }
    // Whoever pushed the image, as CloudTrail names them now (perhaps since the approvers were asked).
    const pushers = record.image
      ? await deps.store.pushersOf(record.image.repository, record.image.digest)
      : [];
    const pushedBy = (who: string) => pushers.find((p) => resolveIdentity(record.identities, p) === who);
    const own = pushedBy(approver);
    if (own) {
      return {
        state: 'refused',
        reason: `${approver} pushed this image (CloudTrail names ${own}) and cannot approve it`,
      };
    }
    if (request.action === 'reject' && !reason) {
      return { state: 'refused', reason: 'a rejection needs a reason' };
    }
    const at = deps.now().toISOString();
    const common = {
      ':pending': 'PENDING',
      ':now': nowSeconds,
      ':at': at,
      ':channel': request.channel,
      ':token': record.taskToken,
    };
    // The token read with the record: a retried request-approval that re-armed it meanwhile makes
    // this write fail, and the next round reads (and delivers to) the new token.
    const pendingAndOpen = '#s = :pending AND deadline > :now AND taskToken = :token';
    const votes = record.approvedBy ? [...record.approvedBy] : [];
    // A vote cast before CloudTrail named its caster as a pusher does not count.
    const approvedBefore = votes.filter((v) => !pushedBy(v));
    if (votes.length > approvedBefore.length && request.action === 'approve' && record.twoPerson) {
      const voided = await deps.approvals.update(
        request.approvalId,
        'REMOVE approvedBy',
        `${pendingAndOpen} AND size(approvedBy) = :n`,
        { ':pending': 'PENDING', ':now': nowSeconds, ':token': record.taskToken, ':n': votes.length },
      );
      if (!voided) continue;
      await deps.store.appendPhase(
        record.releaseId,
        momentPhase(
          'ApprovalVote',
          new Date(at),
          'failed',
          `vote of ${votes.filter((v) => pushedBy(v)).join(', ')} voided: CloudTrail names them as pushing this image`,
        ),
      );
      continue;
    }

    if (request.action === 'approve' && record.twoPerson && approvedBefore.length === 0) {
      const first = await deps.approvals.update(
        request.approvalId,
        'ADD approvedBy :me',
        `${pendingAndOpen} AND attribute_not_exists(approvedBy)`,
        { ':pending': 'PENDING', ':now': nowSeconds, ':token': record.taskToken, ':me': new Set([approver]) },
      );
      if (!first) continue;
      await deps.store.appendPhase(
        record.releaseId,
        momentPhase(
          'ApprovalVote',
          new Date(at),
          'succeeded',
          `approved by ${approver} via ${request.channel}; a second approver is needed`,
        ),
      );
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
    // The decision is made and never undone: it goes into the audit trail now, once. What is left
    // is telling Step Functions (deliverDecision).
    await deps.store.appendPhase(record.releaseId, {
      name: 'Approval',
      startedAt: record.createdAt,
      endedAt: at,
      status: status === 'APPROVED' ? 'succeeded' : 'failed',
      detail: `${status === 'APPROVED' ? 'approved' : 'rejected'} by ${decidedBy.join(' and ')} via ${request.channel}${reason ? `: ${reason}` : ''}`,
    });
    // On Switchyard's bus where this caller has it (the approval functions do; the CLI does when
    // SWITCHYARD_EVENT_BUS is set). Best effort: the decision stands whatever PutEvents answers.
    const publish = statePublisher(
      deps,
      { name: record.target, environment: record.environment },
      record.releaseId,
      'ApprovalDecided',
      {
        approvalId: record.approvalId,
        decision: status,
        decidedBy,
        channel: request.channel,
        ...(reason ? { reason } : {}),
      },
    );
    await publish?.().catch((error: Error) =>
      logger.warn('notification failed', { channel: 'eventbridge', error: error.message }),
    );
    return deliverDecision(
      {
        ...record,
        status,
        decidedBy,
        decidedAt: at,
        channel: request.channel,
        ...(reason ? { reason } : {}),
      },
      deps,
    );
  }
  const record = await deps.approvals.get(request.approvalId);
  if (record?.status === 'CANCELLED') return { state: 'cancelled', record };
  return record ? { state: 'closed', record } : { state: 'refused', reason: 'this approval does not exist' };
};

/** Delivery attempts after the SDK's own retries, and the waits before them (ms). */
const DELIVERY_BACKOFF_MS = [1_000, 3_000];

/**
 * Hands a recorded decision to the waiting task. The decision already won its conditional write,
 * is in the audit trail, and stands whatever happens here; this only settles what Step Functions
 * knows and what the record says:
 * - taken: the release goes on with it (`decided`);
 * - the token is closed: either an earlier send took effect and its answer was lost, or the asking
 *   step is being retried (request-approval hands the recorded decision to its new token). Both
 *   hold while the execution runs. If it has ended, the decision came too late: the record says so
 *   (CANCELLED) and nothing claims it was approved;
 * - still failing after retries: `unconfirmed`, never undone; pressing again resends it.
 */
export const deliverDecision = async (
  record: ApprovalRecord,
  deps: Pick<DecideDeps, 'approvals' | 'store' | 'sfn' | 'now'>,
): Promise<DecisionResult> => {
  const who = `${(record.decidedBy ?? []).join(' and ')} via ${record.channel}`;
  const approved = record.status === 'APPROVED';
  let taken: boolean | undefined;
  for (let attempt = 0; taken === undefined; attempt++) {
    try {
      taken = approved
        ? await sendSuccess(deps.sfn, record.taskToken, {
            approvedBy: record.decidedBy,
            at: record.decidedAt,
            channel: record.channel,
          })
        : await sendFailure(
            deps.sfn,
            record.taskToken,
            'ApprovalRejected',
            `rejected by ${who}: ${record.reason ?? ''}`,
          );
    } catch (error) {
      if (!isRetryable(classifyError(error))) throw error;
      const wait = DELIVERY_BACKOFF_MS[attempt];
      if (wait === undefined) return { state: 'unconfirmed', record };
      // Locally setTimeout runs on the virtual clock.
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  if (!taken && record.executionArn) {
    const status = await executionStatus(deps.sfn, record.executionArn);
    // Running, but stopping without it: its wait failed or timed out and the clean-up has begun.
    const halted =
      status === 'RUNNING' ? (await deps.store.getRelease(record.releaseId))?.haltedBy : undefined;
    if ((status !== 'RUNNING' && status !== 'UNKNOWN') || halted) {
      const cause = halted
        ? `the release was already stopping (${halted}) when ${who} decided`
        : `the release had already ended (${status}) when ${who} decided`;
      const lapsed = await deps.approvals.update(
        record.approvalId,
        'SET #s = :cancelled, reason = :reason',
        '#s = :status AND decidedAt = :at',
        { ':cancelled': 'CANCELLED', ':status': record.status, ':at': record.decidedAt, ':reason': cause },
      );
      if (lapsed) {
        await deps.store.appendPhase(
          record.releaseId,
          momentPhase('Approval', deps.now(), 'failed', `not taken: ${cause}`),
        );
      }
      return { state: 'cancelled', record: { ...record, status: 'CANCELLED', reason: cause } };
    }
  }
  const deliveredAt = deps.now().toISOString();
  const marked = await deps.approvals.update(
    record.approvalId,
    'SET deliveredAt = :delivered',
    '#s = :status AND attribute_not_exists(deliveredAt)',
    { ':status': record.status, ':delivered': deliveredAt },
  );
  if (!marked) {
    // Already marked (another delivery), or closed meanwhile by the clean-up: say what stands.
    const now = await deps.approvals.get(record.approvalId);
    if (now?.status === 'CANCELLED') return { state: 'cancelled', record: now };
    if (now) return { state: 'decided', record: now };
  }
  return { state: 'decided', record: { ...record, deliveredAt } };
};

/**
 * For the reconciler, each minute, per running release that needs approval: a decision recorded
 * but never confirmed by Step Functions (its sends throttled past every retry, and nobody pressed
 * again) is delivered now, rather than left for the wait to time out under an approval that says
 * APPROVED. Returns the result, or undefined when nothing was owed.
 */
export const deliverOwedDecision = async (
  releaseId: string,
  deps: Pick<DecideDeps, 'approvals' | 'store' | 'sfn' | 'now'>,
): Promise<DecisionResult | undefined> => {
  const record = await deps.approvals.get(approvalIdFor(releaseId));
  if (!record || record.deliveredAt || (record.status !== 'APPROVED' && record.status !== 'REJECTED'))
    return undefined;
  return deliverDecision(record, deps);
};

/** PENDING → CANCELLED, dated now; false when it was no longer pending (a decision won first). */
const cancelPending = (approvalId: string, reason: string, deps: Pick<DecideDeps, 'approvals' | 'now'>) =>
  deps.approvals.update(
    approvalId,
    'SET #s = :cancelled, reason = :reason, decidedAt = :at',
    '#s = :pending',
    { ':cancelled': 'CANCELLED', ':pending': 'PENDING', ':reason': reason, ':at': deps.now().toISOString() },
  );

/**
 * Closes the approval of a release that stopped without taking it: its wait failed or timed out,
 * and the release is cleaning up. Pending → CANCELLED, so a click during or after the clean-up is
 * told nothing was approved. A decision recorded that Step Functions never took (its sends were
 * throttled, or came after the wait had closed) is CANCELLED too, with a "not taken" phase in the
 * audit trail, even where an earlier page claimed it was taken: a closed token on a running
 * release is ambiguous until the release shows which way it went, and this is where it shows.
 * The caller knows it was not taken: a taken approval never leads to the clean-up, and a taken
 * rejection is not closed (`ApprovalRejected`). False when there was nothing to close.
 */
export const closeApproval = async (
  approvalId: string,
  /** Why the wait ended without it (the caught error's name, e.g. `States.Timeout`). */
  why: string,
  deps: Pick<DecideDeps, 'approvals' | 'store' | 'now'>,
  /** The recovery of an ended execution cannot tell whether a decision was taken: it closes only a pending one. */
  options: { onlyPending?: boolean } = {},
): Promise<boolean> => {
  const record = await deps.approvals.get(approvalId);
  if (!record || record.status === 'CANCELLED') return false;
  if (options.onlyPending && record.status !== 'PENDING') return false;
  const cause =
    record.status === 'PENDING'
      ? `the release stopped before a decision (${why})`
      : `the release had stopped waiting for it (${why})`;
  if (record.status === 'PENDING') return cancelPending(approvalId, cause, deps);
  // A decision stays dated as it was made; only its status says it was not taken.
  const closed = await deps.approvals.update(
    approvalId,
    'SET #s = :cancelled, reason = :reason',
    '#s = :was',
    { ':cancelled': 'CANCELLED', ':was': record.status, ':reason': cause },
  );
  if (closed) {
    const who = `${(record.decidedBy ?? []).join(' and ')} via ${record.channel}`;
    await deps.store.appendPhase(
      record.releaseId,
      momentPhase(
        'Approval',
        deps.now(),
        'failed',
        `not taken: ${record.status.toLowerCase()} by ${who}, but ${cause}`,
      ),
    );
  }
  return closed;
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
  await cancelPending(approvalId, cause, deps);
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
      return `Approval by ${[...(result.record.approvedBy ?? [])].join(', ') || approver} recorded; a second approver is needed`;
    case 'closed':
      return `Already ${result.record.status} by ${who(result.record)}`;
    case 'cancelled':
      return `Nothing was approved: the approval was cancelled at ${result.record.decidedAt} (${result.record.reason ?? 'a rollback was requested'})`;
    case 'expired':
      return 'Too late: the time to decide has run out';
    case 'unconfirmed':
      return `${result.record.status === 'APPROVED' ? 'Approved' : 'Rejected'} by ${(result.record.decidedBy ?? []).join(' and ')}, and recorded; Step Functions has not confirmed it yet. Run the same command again to resend it.`;
    default:
      return `Not allowed: ${result.reason}`;
  }
};
