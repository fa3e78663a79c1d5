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

// Readable at 2 a.m. on a 375 px phone: one column, long values (digests, ARNs) wrap instead of
// running off the screen, buttons a thumb can hit, Approve and Reject different in colour and form.
const layout = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>*{box-sizing:border-box}body{font:16px/1.4 system-ui,sans-serif;max-width:44rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem;overflow-wrap:anywhere}table{border-collapse:collapse;width:100%;margin:1.25rem 0}
td,th{text-align:left;padding:.3rem .75rem .3rem 0;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{white-space:nowrap;color:#555;font-weight:600}p{overflow-wrap:anywhere}
.deadline{font-weight:600}form{margin:1.25rem 0 0}label{display:block;font-weight:600;margin-bottom:.3rem}
textarea{display:block;width:100%;height:5rem;font:inherit;margin-bottom:.75rem}
button{font:inherit;font-weight:600;padding:.7rem 1.5rem;border-radius:.4rem;min-width:9rem;cursor:pointer}
.approve{background:#1a7f37;color:#fff;border:2px solid #1a7f37}
.reject{background:#fff;color:#b42318;border:2px solid #b42318}
.reject.main{background:#b42318;color:#fff}.secondary{margin-top:2rem;padding-top:1rem;border-top:1px solid #ddd}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

/** "in 47 min" / "2 h 5 min ago": the deadline as a person reads it, next to its UTC time. */
export const relativeTime = (at: Date, now: Date): string => {
  const minutes = Math.round((at.getTime() - now.getTime()) / 60_000);
  const span = Math.abs(minutes);
  const text =
    span < 60 ? `${span} min` : `${Math.floor(span / 60)} h${span % 60 ? ` ${span % 60} min` : ''}`;
  return minutes >= 0 ? `in ${text}` : `${text} ago`;
};

/** `14:05 Europe/Berlin` (with the date when it differs from the UTC date shown beside it). */
const zonedTime = (at: Date, timeZone: string): string => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  const time = `${parts.hour}:${parts.minute}`;
  return `${date === at.toISOString().slice(0, 10) ? time : `${date} ${time}`} ${timeZone}`;
};

const deadlineLine = (record: ApprovalRecord, now: Date) => {
  const at = new Date(record.deadline * 1000);
  const zoned = record.timeZone ? `, ${zonedTime(at, record.timeZone)}` : '';
  return `<p class="deadline" id="deadline">Decide ${escapeHtml(relativeTime(at, now))} (by ${escapeHtml(
    at.toISOString().replace('T', ' ').slice(0, 16),
  )} UTC${escapeHtml(zoned)}); after that the release stops by itself.</p>`;
};

/**
 * Where the release can be followed once decided: its execution in the Step Functions console
 * (the Region is the ARN's), and the CLI command that shows it.
 */
const followLine = (record: ApprovalRecord) => {
  const region = record.executionArn?.split(':')[3];
  const consoleUrl =
    record.executionArn && region
      ? `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(record.executionArn)}`
      : undefined;
  return `<p id="follow">Follow the release: ${
    consoleUrl
      ? `<a href="${escapeHtml(consoleUrl)}">its execution in the Step Functions console</a>, or `
      : ''
  }<code>switchyard history --target ${escapeHtml(record.target)}</code>.</p>`;
};

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

const approveForm = (form: SignedForm, main: boolean) =>
  `<form method="post" id="approve-form"${main ? '' : ' class="secondary"'}>${hidden(form)}<button type="submit" name="decision" value="approve" id="approve" class="approve">Approve</button></form>`;

const rejectForm = (form: SignedForm, main: boolean) =>
  `<form method="post" id="reject-form"${main ? '' : ' class="secondary"'}>${hidden(form)}<label for="reason">Reason for rejecting</label>
<textarea name="reason" id="reason" required maxlength="500"></textarea>
<button type="submit" name="decision" value="reject" id="reject" class="reject${main ? ' main' : ''}">Reject</button></form>`;

/**
 * GET: what is being decided, and the two buttons. Deciding takes a POST from one of them. The
 * link's action leads: a reject link opens a reject page (the reason first, Reject the main
 * button), an approve link an approve page; the other decision stays below, set apart.
 */
export const confirmPage = (
  record: ApprovalRecord,
  approve: SignedForm,
  reject: SignedForm,
  options: { action: 'approve' | 'reject'; now: Date },
) => {
  const rejecting = options.action === 'reject';
  return layout(
    `${rejecting ? 'Reject' : 'Approve'} ${record.target} (${record.environment})?`,
    `<p>Signed in by this link as <strong>${escapeHtml(approve.approver)}</strong>.${
      record.twoPerson ? ' Two different approvers must approve.' : ''
    }</p>${deadlineLine(record, options.now)}${rejecting ? rejectForm(reject, true) : ''}${detailsTable(record)}
${rejecting ? approveForm(approve, false) : `${approveForm(approve, true)}${rejectForm(reject, false)}`}`,
  );
};

/** After a decision, or for a late or repeated click: what was decided, by whom, when. */
export const resultPage = (title: string, record: ApprovalRecord | undefined, message: string) =>
  layout(
    title,
    `<p id="result">${escapeHtml(message)}</p>${
      record?.decidedAt
        ? `<p id="decision">${escapeHtml(record.status)} by ${escapeHtml((record.decidedBy ?? []).join(' and '))} at ${escapeHtml(record.decidedAt)} via ${escapeHtml(record.channel ?? '?')}${record.reason ? ` — ${escapeHtml(record.reason)}` : ''}</p>`
        : ''
    }${record ? `${followLine(record)}${detailsTable(record)}` : ''}`,
  );
