/**
 * A person at the approval page, without a browser: fetches the emailed link over real HTTP,
 * reads the page's form and posts it, exactly as the page's buttons do. Uses node:http (not
 * fetch), so the local runtime does not count the request as its own I/O.
 */
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalRecord } from '../functions/shared/approvals.ts';
import type { LocalRuntime } from './runtime.ts';

export interface Page {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const http = (
  url: string,
  options: {
    method?: string;
    body?: string;
    headers?: Record<string, string>;
    /** The loopback address to send from (e.g. `127.0.0.2`): another client, as WAF tells them apart. */
    from?: string;
  } = {},
): Promise<Page> =>
  new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        localAddress: options.from,
        headers: {
          ...(options.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });

const decodeHtml = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '',
  );

/** The hidden fields of the page's approve or reject form. */
export const formFields = (html: string, form: 'approve' | 'reject'): Record<string, string> => {
  const block =
    html.match(new RegExp(`<form method="post" id="${form}-form"[^>]*>([\\s\\S]*?)</form>`))?.[1] ?? '';
  return Object.fromEntries(
    [...block.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [
      m[1],
      decodeHtml(m[2] ?? ''),
    ]),
  );
};

/** The approval emails SES sent for `releaseId` so far (one per approver, to that approver only). */
export const approvalEmails = (runtime: LocalRuntime, releaseId: string) =>
  runtime.account.ses.sent.filter(
    (m) => m.tags['switchyard-event'] === 'approval' && m.tags['release-id'] === releaseId,
  );

/** The approve and reject links emailed (through SES) to `approver` for `releaseId`. */
export const emailedLinks = (runtime: LocalRuntime, releaseId: string, approver: string) => {
  const message = approvalEmails(runtime, releaseId).find((m) => m.to.includes(approver))?.body;
  return {
    approve: message?.match(/^Approve: (\S+)$/m)?.[1],
    reject: message?.match(/^Reject: +(\S+)$/m)?.[1],
  };
};

/** Opens the link (GET, the confirmation page) and presses one button (POST its form). */
export const decideThroughPage = async (
  link: string,
  decision: 'approve' | 'reject',
  reason?: string,
  /** The loopback address the person's browser sends from. */
  from?: string,
) => {
  const page = await http(link, { from });
  const fields = formFields(page.body, decision);
  const url = new URL(link);
  url.search = '';
  const result = await http(url.toString(), {
    method: 'POST',
    body: new URLSearchParams({ ...fields, ...(reason ? { reason } : {}) }).toString(),
    from,
  });
  return { page, result };
};

/** The Slack message with Approve / Reject buttons posted for an approval, as the webhook received it. */
export const slackApprovalMessage = (runtime: LocalRuntime, target: string) => {
  const message = runtime.account.webhooks.received.find(
    (r) =>
      r.path === `/slack/${target}` && JSON.stringify(r.body).includes('"block_id":"switchyard-approval"'),
  );
  const body = message?.body as
    | { blocks?: { type: string; elements?: { action_id: string; value: string }[] }[] }
    | undefined;
  const buttons = body?.blocks?.find((b) => b.type === 'actions')?.elements ?? [];
  return { message: body, approvalId: buttons[0]?.value };
};

let responses = 0;

/**
 * A Slack button click as Slack sends it: a form-encoded `payload` (block_actions), signed with
 * the app's signing secret over `v0:{timestamp}:{body}`, with a `response_url` of its own (a
 * webhook path of the simulated account unless `responseUrl` is given). `tamper` alters the request
 * after signing. Once Switchyard acknowledged the click, virtual time runs until the decision's
 * invocation is done, Lambda's retries included: `reply` is the text of the last post to the
 * response URL, `replies` every post, as Slack would show them.
 */
export const clickSlackButton = async (
  runtime: LocalRuntime,
  click: Parameters<typeof sendSlackClick>[1],
): Promise<Page & { reply?: string; replies: Record<string, unknown>[] }> => {
  const responseUrl =
    click.responseUrl ?? runtime.account.webhooks.url(`/slack-response/click-${++responses}`);
  const path = new URL(responseUrl).pathname;
  const posted = () =>
    runtime.account.webhooks.received
      .filter((r) => r.path === path)
      .map((r) => r.body as Record<string, unknown>);
  const answer = await sendSlackClick(runtime, { ...click, responseUrl });
  if (answer.status === 200) {
    await runtime.runUntil(() => runtime.account.lambda.inFlight === 0, 600);
  }
  const replies = posted();
  const last = replies.at(-1)?.text;
  return { ...answer, reply: typeof last === 'string' ? last : undefined, replies };
};

/** Sends one signed click and returns Switchyard's acknowledgement, without waiting for its answer. */
export const sendSlackClick = (
  runtime: LocalRuntime,
  click: {
    approvalId: string;
    userId: string;
    action: 'approve' | 'reject';
    responseUrl?: string;
    signingSecret?: string;
    timestamp?: number;
    tamper?: (body: string) => string;
    /** Sends (and signs) this body instead of a button click. */
    rawBody?: string;
  },
) => {
  const payload = {
    type: 'block_actions',
    user: { id: click.userId, username: click.userId.toLowerCase() },
    response_url: click.responseUrl,
    actions: [{ action_id: click.action, block_id: 'switchyard-approval', value: click.approvalId }],
  };
  const body = click.rawBody ?? new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(click.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', click.signingSecret ?? runtime.slackSigningSecret)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex')}`;
  return http(`${runtime.approvalBaseUrl}/slack/interactions`, {
    method: 'POST',
    body: click.tamper ? click.tamper(body) : body,
    headers: { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature },
  });
};

/** The approval records of a release, read from the local approvals table. */
export const approvalsOf = async (runtime: LocalRuntime, releaseId: string): Promise<ApprovalRecord[]> => {
  const out = await runtime.until(
    runtime.doc.send(
      new ScanCommand({
        TableName: runtime.tables.approvals,
        FilterExpression: 'releaseId = :r',
        ExpressionAttributeValues: { ':r': releaseId },
        ConsistentRead: true,
      }),
    ),
  );
  return (out.Items ?? []) as ApprovalRecord[];
};

/** What a result page says: its message and, once decided, who decided what and when. */
export const pageText = (html: string) => ({
  result: decodeHtml(html.match(/<p id="result">([\s\S]*?)<\/p>/)?.[1] ?? ''),
  decision: decodeHtml(html.match(/<p id="decision">([\s\S]*?)<\/p>/)?.[1] ?? ''),
});
