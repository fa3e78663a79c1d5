/** Approval-link signatures and Slack request verification: what verifies, and every way it must not. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type LinkFields,
  linkQuery,
  newApprovalId,
  sign,
  verify,
  verifySlack,
} from '../../functions/shared/signing.ts';

const key = 'k'.repeat(64);
const fields: LinkFields = {
  approvalId: 'Zm9vYmFyYmF6cXV4cXV1eDEy',
  action: 'approve',
  approver: 'alice@example.com',
  exp: 1_800_000_000,
};
const signature = sign(key, fields);

describe('approval link signatures', () => {
  it('verifies the fields it was made for, and reads back from the link query', () => {
    expect(verify(key, fields, signature)).toBe(true);
    const query = new URLSearchParams(linkQuery(key, fields));
    expect(Object.fromEntries(query)).toEqual({
      action: 'approve',
      approver: 'alice@example.com',
      exp: '1800000000',
      sig: signature,
    });
    // The link never carries anything but these four and the id in the path.
    expect([...query.keys()].sort()).toEqual(['action', 'approver', 'exp', 'sig']);
  });

  it.each([
    ['another approval id', { approvalId: 'Zm9vYmFyYmF6cXV4cXV1eDEz' }],
    ['the other action', { action: 'reject' as const }],
    ['a later expiry', { exp: fields.exp + 1 }],
    ['another approver', { approver: 'mallory@example.com' }],
  ])('refuses the signature for %s', (_, change) => {
    expect(verify(key, { ...fields, ...change }, signature)).toBe(false);
  });

  it('refuses a signature made with another key, a truncated one, and an empty one', () => {
    expect(verify('w'.repeat(64), fields, signature)).toBe(false);
    expect(verify(key, fields, sign('w'.repeat(64), fields))).toBe(false);
    expect(verify(key, fields, signature.slice(0, -1))).toBe(false);
    expect(verify(key, fields, '')).toBe(false);
  });

  it('treats the approver case-insensitively (emails), so a link cannot be re-cased into another identity', () => {
    expect(verify(key, { ...fields, approver: 'Alice@Example.com' }, signature)).toBe(true);
  });

  it('draws approval ids of at least 128 random bits', () => {
    const ids = new Set(Array.from({ length: 1000 }, newApprovalId));
    expect(ids.size).toBe(1000);
    for (const id of [...ids].slice(0, 10)) {
      expect(Buffer.from(id, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
      expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });
});

describe('Slack request verification', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
  const now = 1_800_000_000;
  const slackSignature = (ts: number, raw: string, withSecret = secret) =>
    `v0=${createHmac('sha256', withSecret).update(`v0:${ts}:${raw}`).digest('hex')}`;

  it('accepts a request signed with the signing secret within 5 minutes', () => {
    expect(
      verifySlack(
        secret,
        { timestamp: String(now - 299), signature: slackSignature(now - 299, body) },
        body,
        now,
      ),
    ).toEqual({ ok: true });
  });

  it('refuses a bad signature, a wrong secret, a stale timestamp and a body altered after signing', () => {
    const ts = String(now);
    expect(verifySlack(secret, { timestamp: ts, signature: 'v0=00' }, body, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(
      verifySlack(
        secret,
        { timestamp: ts, signature: slackSignature(now, body, 'another-secret') },
        body,
        now,
      ),
    ).toMatchObject({ ok: false, reason: 'bad signature' });
    expect(
      verifySlack(
        secret,
        { timestamp: String(now - 301), signature: slackSignature(now - 301, body) },
        body,
        now,
      ),
    ).toEqual({ ok: false, reason: 'stale timestamp' });
    expect(
      verifySlack(secret, { timestamp: ts, signature: slackSignature(now, body) }, `${body}%20`, now),
    ).toEqual({ ok: false, reason: 'bad signature' });
    // A replay of a valid request with a fresh timestamp header: the signature covers the timestamp.
    expect(
      verifySlack(secret, { timestamp: String(now + 10), signature: slackSignature(now, body) }, body, now),
    ).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses requests without the headers', () => {
    expect(verifySlack(secret, {}, body, now)).toEqual({ ok: false, reason: 'missing timestamp' });
    expect(verifySlack(secret, { timestamp: String(now) }, body, now)).toEqual({
      ok: false,
      reason: 'missing signature',
    });
    expect(verifySlack(secret, { timestamp: 'yesterday', signature: 'v0=1' }, body, now)).toMatchObject({
      ok: false,
      reason: 'missing timestamp',
    });
  });
});
