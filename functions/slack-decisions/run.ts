import { type DecideDeps, decide, describeDecision } from '../shared/approvals.ts';
import { slackText } from '../shared/channel-text.ts';
import { TransientError } from '../shared/errors.ts';
import { resolveIdentity } from '../shared/identity.ts';
import { logger } from '../shared/logger.ts';
import type { SlackClick } from '../shared/slack-click.ts';

type Deps = DecideDeps & { post: (url: string, body: unknown) => Promise<void> };

const APPROVAL_ID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * Lambda's third attempt of an asynchronous event starts about 3 minutes after the first (retries
 * 1 and then 2 minutes apart): an attempt this long after the click is the last.
 */
const LAST_ATTEMPT_AFTER_SECONDS = 120;

/** A decision recorded that Step Functions has not confirmed: the person was told so already. */
class Unconfirmed extends TransientError {}

/**
 * Takes the decision of a Slack click that `slack-interactions` has already acknowledged, and
 * tells the person through the click's `response_url`: the message's buttons are replaced with
 * who decided, and anything else (not an approver, a closed approval) comes back only to them.
 *
 * Invoked asynchronously (Lambda's event queue), so a thrown error is retried by Lambda twice.
 * A decision recorded but not yet confirmed by Step Functions throws after telling the person,
 * so the retry resends it (`decide` resends an unconfirmed decision of the same approver).
 */
export const run = async (click: SlackClick, deps: Deps): Promise<{ result: string }> => {
  const say = async (text: string, replaceOriginal: boolean) => {
    if (!click.responseUrl) return;
    try {
      await deps.post(
        click.responseUrl,
        replaceOriginal
          ? { replace_original: true, text: slackText(text) }
          : { response_type: 'ephemeral', replace_original: false, text: slackText(text) },
      );
    } catch (error) {
      logger.warn('notification failed', { channel: 'slack response_url', error: error as Error });
    }
  };
  try {
    return await decideClick(click, deps, say);
  } catch (error) {
    // Lambda retries the event one and then two minutes later; the person is told meanwhile, and
    // told plainly when this was the last attempt (about 3 minutes after the click).
    if (!(error instanceof Unconfirmed)) {
      const last = deps.now().getTime() / 1000 - click.sentAt > LAST_ATTEMPT_AFTER_SECONDS;
      await say(
        last
          ? 'Switchyard could not take this decision, and has stopped trying: nothing was decided. Click the button again.'
          : 'Switchyard could not take this decision yet; it tries again shortly. If no decision follows within 5 minutes, click again.',
        false,
      );
    }
    throw error;
  }
};

const decideClick = async (
  click: SlackClick,
  deps: Deps,
  say: (text: string, replaceOriginal: boolean) => Promise<void>,
): Promise<{ result: string }> => {
  const record = APPROVAL_ID.test(click.approvalId) ? await deps.approvals.get(click.approvalId) : undefined;
  if (!record) {
    await say('This approval does not exist (any more).', false);
    return { result: 'no such approval' };
  }
  // Own keys only: a user id such as `constructor` or `__proto__` names nobody.
  const approver = record.identities
    ? record.approvers.find((a) => a === resolveIdentity(record.identities, `slack:${click.userId}`))
    : record.slackUsers && Object.hasOwn(record.slackUsers, click.userId)
      ? record.slackUsers[click.userId]
      : undefined;
  if (!approver) {
    await say(`Slack user ${click.userId} is not an approver of this release.`, false);
    return { result: 'not an approver' };
  }
  const result = await decide(
    {
      approvalId: click.approvalId,
      approver,
      action: click.action,
      channel: 'slack',
      reason: click.action === 'reject' ? `rejected in Slack by ${click.username ?? approver}` : undefined,
    },
    deps,
  );
  const text =
    result.state === 'unconfirmed'
      ? `${result.record.status === 'APPROVED' ? 'Approved' : 'Rejected'} by ${(result.record.decidedBy ?? []).join(' and ')} and recorded; Step Functions has not confirmed it yet, and Switchyard keeps resending it.`
      : describeDecision(result, approver);
  // The text carries people's words (a rollback's reason): slackText escapes them for mrkdwn.
  const settled = result.state === 'decided' || result.state === 'closed' || result.state === 'cancelled';
  await say(settled ? `${record.details.Target}: ${text}` : text, settled);
  if (result.state === 'unconfirmed') {
    // Already told (the text says it is recorded, not yet confirmed): the retry resends it.
    throw new Unconfirmed(`decision on ${click.approvalId} recorded but not confirmed yet; retrying`);
  }
  return { result: text };
};
