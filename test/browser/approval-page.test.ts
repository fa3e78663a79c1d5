/**
 * A person approving in a real browser: Chromium (the one `@sparticuz/chromium` ships, or
 * `SWITCHYARD_CHROMIUM`), driven by playwright-core, opens the emailed link, reads the release on the
 * page, presses Approve, and the release goes on to Promoted.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalsOf } from '../../local/approver.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { type ApprovalWorld, finish, parkedRelease, startApprovalWorld } from '../support/approval-world.ts';
import { launchBrowser } from '../support/browser.ts';

let browser: Browser;
let world: ApprovalWorld | undefined;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await world?.rt.dispose();
});

describe('approval page in Chromium', () => {
  it('opens the emailed link, shows the release, and Approve lets it go on to Promoted', async () => {
    world = await startApprovalWorld();
    const { releaseId, approve } = await parkedRelease(world, 'orders-api');
    const page = await browser.newPage();
    const response = await page.goto(approve);
    expect(response?.status()).toBe(200);
    expect(response?.headers()).toMatchObject({
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    await expect.poll(() => page.title()).toBe('Approve orders-api (prod)?');
    const details = Object.fromEntries(
      await page.$$eval('table tr', (rows) =>
        rows.map((row) => [
          row.querySelector('th')?.textContent ?? '',
          row.querySelector('td')?.textContent ?? '',
        ]),
      ),
    );
    expect(details).toMatchObject({
      Target: 'orders-api (prod)',
      Image: 'orders-api:v2',
      Digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      'Triggered by': 'ecr-push (by unknown)',
      Release: releaseId,
      'Rollback plan': expect.stringContaining('weights back to blue'),
    });
    expect(await page.textContent('p')).toContain('bob@example.com');
    // Opening the page decided nothing.
    expect((await approvalsOf(world.rt, releaseId))[0]?.status).toBe('PENDING');

    await Promise.all([page.waitForURL(/\/approvals\//, { waitUntil: 'load' }), page.click('#approve')]);
    expect(await page.textContent('#result')).toBe('Approved: the release goes on.');
    expect(await page.textContent('#decision')).toMatch(/^APPROVED by bob@example.com at .* via email$/);

    const release = await finish(world, releaseId);
    expect(release?.outcome).toBe('Promoted');
    expect(liveWeights(world.rt, world.orders)).toEqual({ blue: 0, green: 100 });
    expect(release?.phases.find((p) => p.name === 'Approval')?.detail).toBe(
      'approved by bob@example.com via email',
    );
  });
});
