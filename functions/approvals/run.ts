import { type ApprovalRecord, type DecideDeps, decide } from '../shared/approvals.ts';
import type { HttpEvent, HttpResult } from '../shared/http.ts';
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
 * GET /approvals/{id}: verifies the signed link and shows the confirmation page; never decides.
 * POST /approvals/{id}: verifies the same signed fields and decides (see `decide`).
 */
export const run = async (event: HttpEvent, deps: Deps): Promise<HttpResult> => {
  const approvalId = event.rawPath.match(/^\/approvals\/([A-Za-z0-9_-]{16,64})$/)?.[1];
  if (!approvalId) return page(404, resultPage('Not found', undefined, 'There is no such approval page.'));
  const method = event.requestContext.http.method.toUpperCase();
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
    if (record.status !== 'PENDING')
      return page(
        200,
        resultPage('Already decided', record, 'Nothing to do: this release was already decided.'),
      );
    const form = (action: ApprovalAction) => {
      const signed = { approvalId, action, approver: fields.approver, exp: fields.exp };
      return { ...signed, sig: sign(key, signed) };
    };
    return page(200, confirmPage(record, form('approve'), form('reject')));
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
    case 'undelivered':
      return page(
        503,
        resultPage(
          'Not recorded',
          record,
          'Nothing was decided: Switchyard could not reach Step Functions just now. Press the button again.',
        ),
      );
    default:
      return page(403, resultPage('Not allowed', record, reason));
  }
};
