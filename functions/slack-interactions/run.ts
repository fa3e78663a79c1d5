import type { HttpEvent, HttpResult } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { verifySlack } from '../shared/signing.ts';
import type { SlackClick } from '../shared/slack-click.ts';

type Deps = {
  now: () => Date;
  signingSecret: () => Promise<string>;
  /** Hands the click to `slack-decisions` on Lambda's asynchronous queue (InvocationType Event). */
  handOver: (click: SlackClick) => Promise<void>;
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
 * Slack's interactivity request URL. Slack wants an HTTP 200 within 3 seconds of a click
 * (api.slack.com/interactivity/handling#acknowledgment_response), cold start included, so this
 * function only checks the request and acknowledges it: the signature over
 * `v0:{timestamp}:{raw body}` is checked before anything is parsed, the payload must be a
 * Switchyard button, and the click is handed to `slack-decisions` (an asynchronous invoke) before
 * the empty 200 goes back. No table read, no decision and no post happen here; the decision's
 * answer reaches the person through the click's `response_url`.
 */
export const run = async (event: HttpEvent, deps: Deps): Promise<HttpResult> => {
  if (event.requestContext.http.method.toUpperCase() !== 'POST') return reply(405, 'POST only');
  const raw =
    event.body && event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : (event.body ?? '');
  const headers = event.headers ?? {};
  const now = Math.floor(deps.now().getTime() / 1000);
  const check = verifySlack(
    await deps.signingSecret(),
    { timestamp: headers['x-slack-request-timestamp'], signature: headers['x-slack-signature'] },
    raw,
    now,
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
  if (
    payload.type !== 'block_actions' ||
    (action?.action_id !== 'approve' && action?.action_id !== 'reject') ||
    typeof action.value !== 'string' ||
    typeof payload.user?.id !== 'string'
  ) {
    return reply(400, 'not a Switchyard approval button');
  }
  try {
    await deps.handOver({
      approvalId: action.value.slice(0, 128),
      userId: payload.user.id.slice(0, 64),
      username: typeof payload.user.username === 'string' ? payload.user.username.slice(0, 128) : undefined,
      action: action.action_id,
      responseUrl: typeof payload.response_url === 'string' ? payload.response_url : undefined,
      sentAt: Number(headers['x-slack-request-timestamp']),
    });
  } catch (error) {
    // Nothing was handed over: Slack shows the person that the click failed, and they click again.
    logger.error('could not hand the click over', { error: error as Error });
    return reply(503, 'Switchyard could not take this click; nothing was decided. Click again.');
  }
  return { statusCode: 200, headers: { 'cache-control': 'no-store' }, body: '' };
};
