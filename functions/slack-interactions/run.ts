import { type DecideDeps, decide, describeDecision } from '../shared/approvals.ts';
import { slackText } from '../shared/channel-text.ts';
import type { HttpEvent, HttpResult } from '../shared/http.ts';
import { resolveIdentity } from '../shared/identity.ts';
import { logger } from '../shared/logger.ts';
import { verifySlack } from '../shared/signing.ts';

type Deps = DecideDeps & {
  signingSecret: () => Promise<string>;
  post: (url: string, body: unknown) => Promise<void>;
};

const reply = (statusCode: number, text: string): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  body: text,
});

interface BlockActions {
  type: string;
  user?: { id?: string; username?: string };
  response_url?: string;
  actions?: { action_id?: string; value?: string }[];
}

/**
 * Slack's interactivity request URL. The signature over `v0:{timestamp}:{raw body}` is checked
 * before anything is parsed; the clicking Slack user must map to an approver of the target. The
 * decision is the same conditional write as the email page's; the message's buttons are then
 * replaced with who decided, through `response_url`.
 */
export const run = async (event: HttpEvent, deps: Deps): Promise<HttpResult> => {
  if (event.requestContext.http.method.toUpperCase() !== 'POST') return reply(405, 'POST only');
  const raw =
    event.body && event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : (event.body ?? '');
  const headers = event.headers ?? {};
  const check = verifySlack(
    await deps.signingSecret(),
    { timestamp: headers['x-slack-request-timestamp'], signature: headers['x-slack-signature'] },
    raw,
    Math.floor(deps.now().getTime() / 1000),
  );
  if (!check.ok) {
    logger.warn('slack request refused', { reason: check.reason });
    return reply(401, `refused: ${check.reason}`);
  }
  let payload: BlockActions;
  try {
    payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '') as BlockActions;
  } catch {
    return reply(400, 'payload is not JSON');
  }
  const action = payload.actions?.[0];
  const approvalId = action?.value ?? '';
  if (
    payload.type !== 'block_actions' ||
    (action?.action_id !== 'approve' && action?.action_id !== 'reject')
  ) {
    return reply(400, 'not a Switchyard approval button');
  }
  const record = /^[A-Za-z0-9_-]{16,64}$/.test(approvalId) ? await deps.approvals.get(approvalId) : undefined;
  if (!record) return reply(404, 'this approval does not exist (any more)');
  // Own keys only: a user id such as `constructor` or `__proto__` names nobody.
  const userId = payload.user?.id ?? '';
  const approver = record.identities
    ? record.approvers.find((a) => a === resolveIdentity(record.identities, `slack:${userId}`))
    : record.slackUsers && Object.hasOwn(record.slackUsers, userId)
      ? record.slackUsers[userId]
      : undefined;
  if (!approver) {
    return reply(200, `Slack user ${payload.user?.id ?? '?'} is not an approver of this release.`);
  }
  const result = await decide(
    {
      approvalId,
      approver,
      action: action.action_id,
      channel: 'slack',
      reason:
        action.action_id === 'reject'
          ? `rejected in Slack by ${payload.user?.username ?? approver}`
          : undefined,
    },
    deps,
  );
  const text = describeDecision(result, approver);
  if (
    payload.response_url &&
    (result.state === 'decided' || result.state === 'closed' || result.state === 'cancelled')
  ) {
    try {
      await deps.post(payload.response_url, {
        replace_original: true,
        // The text carries people's words (a rollback's reason): escaped for Slack's mrkdwn.
        text: slackText(`${record.details.Target}: ${text}`),
      });
    } catch (error) {
      logger.warn('notification failed', { channel: 'slack response_url', error: error as Error });
    }
  }
  return reply(200, text);
};
