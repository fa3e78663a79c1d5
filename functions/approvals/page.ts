/** The approval pages: plain HTML, no script, nothing submits by itself. */
import type { ApprovalRecord } from '../shared/approvals.ts';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export const securityHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

const layout = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{text-align:left;padding:.25rem .75rem .25rem 0;vertical-align:top}
form{display:inline-block;margin:1rem 1rem 0 0}textarea{display:block;width:20rem;height:4rem}
button{font-size:1rem;padding:.5rem 1.25rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

const detailsTable = (record: ApprovalRecord) =>
  `<table>${Object.entries(record.details)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('')}<tr><th>Release</th><td>${escapeHtml(record.releaseId)}</td></tr></table>`;

export interface SignedForm {
  action: 'approve' | 'reject';
  approver: string;
  exp: number;
  sig: string;
}

const hidden = (form: SignedForm) =>
  (['action', 'approver', 'exp', 'sig'] as const)
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(String(form[k]))}">`)
    .join('');

/** GET: what is being decided, and the two buttons. Deciding takes a POST from one of them. */
export const confirmPage = (record: ApprovalRecord, approve: SignedForm, reject: SignedForm) =>
  layout(
    `Approve ${record.target} (${record.environment})?`,
    `<p>Signed in by this link as <strong>${escapeHtml(approve.approver)}</strong>.${
      record.twoPerson ? ' Two different approvers must approve.' : ''
    }</p>${detailsTable(record)}
<form method="post" id="approve-form">${hidden(approve)}<button type="submit" name="decision" value="approve" id="approve">Approve</button></form>
<form method="post" id="reject-form">${hidden(reject)}<label for="reason">Reason for rejecting</label>
<textarea name="reason" id="reason" required maxlength="500"></textarea>
<button type="submit" name="decision" value="reject" id="reject">Reject</button></form>`,
  );

/** After a decision, or for a late or repeated click: what was decided, by whom, when. */
export const resultPage = (title: string, record: ApprovalRecord | undefined, message: string) =>
  layout(
    title,
    `<p id="result">${escapeHtml(message)}</p>${
      record?.decidedAt
        ? `<p id="decision">${escapeHtml(record.status)} by ${escapeHtml((record.decidedBy ?? []).join(' and '))} at ${escapeHtml(record.decidedAt)} via ${escapeHtml(record.channel ?? '?')}${record.reason ? ` — ${escapeHtml(record.reason)}` : ''}</p>`
        : ''
    }${record ? detailsTable(record) : ''}`,
  );
