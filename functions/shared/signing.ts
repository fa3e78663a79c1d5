/**
 * Approval links: an opaque approval id, the action, the approver the link was made for and an
 * expiry, signed with HMAC-SHA256 (key in Secrets Manager). Never a task token. Verification is
 * constant-time; a link for another action, approver or expiry does not verify.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type ApprovalAction = 'approve' | 'reject';

export interface LinkFields {
  approvalId: string;
  action: ApprovalAction;
  approver: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

/** 144 random bits, URL-safe. */
export const newApprovalId = () => randomBytes(18).toString('base64url');

/**
 * The approval of a release's one approval wait: the same id on every attempt of the step, so a
 * retry finds the approval an earlier attempt stored (and the links it sent) instead of making a
 * second one. Not secret: every action on it needs a signed link or a signed Slack request.
 */
export const approvalIdFor = (releaseId: string) =>
  createHash('sha256').update(`switchyard-approval|${releaseId}`).digest('base64url').slice(0, 24);

const payload = (f: LinkFields) =>
  ['v1', f.approvalId, f.action, f.approver.toLowerCase(), String(f.exp)].join('|');

export const sign = (key: string, fields: LinkFields): string =>
  createHmac('sha256', key).update(payload(fields)).digest('base64url');

/** True when `signature` was made with `key` for exactly these fields. */
export const verify = (key: string, fields: LinkFields, signature: string): boolean => {
  const expected = Buffer.from(sign(key, fields));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
};

/** The link's query string. */
export const linkQuery = (key: string, fields: LinkFields): string =>
  new URLSearchParams({
    action: fields.action,
    approver: fields.approver,
    exp: String(fields.exp),
    sig: sign(key, fields),
  }).toString();

/**
 * Slack request verification: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the
 * app's signing secret, compared in constant time; timestamps over 5 minutes old are refused.
 */
export const verifySlack = (
  signingSecret: string,
  headers: { timestamp?: string; signature?: string },
  rawBody: string,
  nowSeconds: number,
): { ok: true } | { ok: false; reason: string } => {
  const timestamp = Number(headers.timestamp);
  if (!headers.timestamp || !Number.isInteger(timestamp)) return { ok: false, reason: 'missing timestamp' };
  if (Math.abs(nowSeconds - timestamp) > 300) return { ok: false, reason: 'stale timestamp' };
  if (!headers.signature?.startsWith('v0=')) return { ok: false, reason: 'missing signature' };
  const expected = Buffer.from(
    `v0=${createHmac('sha256', signingSecret).update(`v0:${headers.timestamp}:${rawBody}`).digest('hex')}`,
  );
  const given = Buffer.from(headers.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad signature' };
  }
  return { ok: true };
};
