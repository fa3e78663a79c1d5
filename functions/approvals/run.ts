import { type ApprovalRecord, type DecideDeps, decide } from '../shared/approvals.ts';
import type { HttpEvent, HttpResult } from '../shared/http.ts';
import { resolveIdentity } from '../shared/identity.ts';
import { type ApprovalAction, sign, verify } from '../shared/signing.ts';
import { confirmPage, resultPage, securityHeaders } from './page.ts';

type Deps = DecideDeps & { key: () => Promise<string> };

const page = (statusCode: number, body: string): HttpResult => ({
  statusCode,
  headers: securityHeaders,
  body,
});

const fieldsOf = (params: URLSearchParams) => {
  const action = params.get('action');
  const approver = params.get('approver');
  const exp = Number(params.get('exp'));
  const sig = params.get('sig');
  if ((action !== 'approve' && action !== 'reject') || !approver || !Number.isInteger(exp) || !sig)
    return undefined;
  return { action: action as ApprovalAction, approver: approver.toLowerCase(), exp, sig };
};

/**
 * Why a POST is refused as not coming from our own page, or undefined. A browser says where a
 * request comes from (Fetch Metadata, and Origin on every POST); a page elsewhere that carries the
 * signed fields must not decide. Clients that send neither header still decide on the signed fields
 * alone: someone holding a leaked link (curl) is stopped only by the signature and the approver
 * check, not here. The form posts urlencoded: any other body (a cross-site `text/plain` form) is
 * refused too.
 */
const crossSiteProblem = (headers: Record<string, string | undefined>): string | undefined => {
  const site = headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none')
    return `the request came from another site (${site})`;
  const origin = headers.origin;
  // Our page's `Referrer-Policy: no-referrer` makes browsers send `Origin: null` on its own POST;
  // Fetch Metadata then says same-origin. Without it, a null origin (a sandboxed frame) is refused.
  if (origin !== undefined && !(origin === 'null' && site)) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (!host || host !== headers.host) return `the request came from another site (${origin})`;
  }
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    return `the form was sent as ${type || 'no content type'}`;
  return undefined;
};

/**
 * GET /approvals/{id}: verifies the signed link and shows the confirmation page; never decides.
 * POST /approvals/{id}: verifies the same signed fields and decides (see `decide`).
 */
export const run = async (event: HttpEvent, deps: Deps): Promise<HttpResult> => {
  const approvalId = event.rawPath.match(/^\/approvals\/([A-Za-z0-9_-]{16,64})$/)?.[1];
  if (!approvalId) return page(404, resultPage('Not found', undefined, 'There is no such approval page.'));
  const method = event.requestContext.http.method.toUpperCase();
  if (method === 'POST') {
    const refused = crossSiteProblem(event.headers ?? {});
    if (refused) {
      return page(
        403,
        resultPage(
          'Not allowed',
          undefined,
          `Nothing was decided: ${refused}. Open the link from your email and press the button on that page.`,
        ),
      );
    }
  }
  const body =
    event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const params = new URLSearchParams(method === 'POST' ? (body ?? '') : (event.rawQueryString ?? ''));
  const fields = fieldsOf(params);
  if (!fields) {
    return page(
      400,
      resultPage(
        'Link incomplete',
        undefined,
        'This link is missing its action, approver, expiry or signature.',
      ),
    );
  }
  const key = await deps.key();
  if (!verify(key, { approvalId, ...fields }, fields.sig)) {
    return page(
      403,
      resultPage(
        'Link not valid',
        undefined,
        'This link is not valid: it was altered or not made by Switchyard.',
      ),
    );
  }
  const now = Math.floor(deps.now().getTime() / 1000);
  if (now >= fields.exp) return page(410, resultPage('Link expired', undefined, 'This link has expired.'));
  const record = await deps.approvals.get(approvalId);
  if (!record)
    return page(404, resultPage('Not found', undefined, 'This approval does not exist (any more).'));

  if (method === 'GET' || method === 'HEAD') {
    if (record.status === 'CANCELLED') return outcomePage('cancelled', record, '', 200);
    const unconfirmedOwn =
      !record.deliveredAt &&
      (record.decidedBy ?? []).includes(resolveIdentity(record.identities, fields.approver));
    if (record.status !== 'PENDING' && !unconfirmedOwn)
      return page(
        200,
        resultPage('Already decided', record, 'Nothing to do: this release was already decided.'),
      );
    const form = (action: ApprovalAction) => {
      const signed = { approvalId, action, approver: fields.approver, exp: fields.exp };
      return { ...signed, sig: sign(key, signed) };
    };
    return page(
      200,
      confirmPage(record, form('approve'), form('reject'), { action: fields.action, now: deps.now() }),
    );
  }
  if (method !== 'POST') return page(405, resultPage('Not allowed', record, 'Use the buttons on the page.'));

  const result = await decide(
    {
      approvalId,
      approver: fields.approver,
      action: fields.action,
      channel: 'email',
      reason: params.get('reason') ?? undefined,
    },
    deps,
  );
  return outcomePage(
    result.state,
    'record' in result ? result.record : record,
    'reason' in result ? result.reason : '',
  );
};

const outcomePage = (state: string, record: ApprovalRecord, reason: string, status = 409): HttpResult => {
  switch (state) {
    case 'cancelled':
      return page(
        status,
        resultPage(
          'Cancelled',
          record,
          `Nothing was approved: this approval was cancelled at ${record.decidedAt} because ${record.reason ?? 'a rollback was requested'}. The release stops and cleans up.`,
        ),
      );
    case 'decided':
      return page(
        200,
        resultPage(
          record.status === 'APPROVED' ? 'Approved' : 'Rejected',
          record,
          record.status === 'APPROVED'
            ? 'Approved: the release goes on.'
            : 'Rejected: the release stops and cleans up.',
        ),
      );
    case 'recorded':
      return page(
        202,
        resultPage(
          'Approval recorded',
          record,
          'Your approval is recorded; a second approver must approve too.',
        ),
      );
    case 'closed':
      return page(
        409,
        resultPage('Already decided', record, 'Nothing changed: this release was already decided.'),
      );
    case 'expired':
      return page(
        410,
        resultPage('Too late', record, 'The time to decide has run out; the release stopped.'),
      );
    case 'unconfirmed':
      return page(
        202,
        resultPage(
          `${record.status === 'APPROVED' ? 'Approved' : 'Rejected'}, not yet confirmed`,
          record,
          `Your decision is recorded and nobody can change it now, but Step Functions has not confirmed it yet. Press the button again in a minute to resend it.`,
        ),
      );
    default:
      return page(403, resultPage('Not allowed', record, reason));
  }
};
