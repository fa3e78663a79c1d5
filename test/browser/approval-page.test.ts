/**
 * A person approving in a real browser: Chromium (the one `@sparticuz/chromium` ships, or
 * `SWITCHYARD_CHROMIUM`), driven by playwright-core, opens the emailed link, reads the release on the
 * page, presses Approve, and the release goes on to Promoted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalsOf } from '../../local/approver.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { type ApprovalWorld, finish, parkedRelease, startApprovalWorld } from '../support/approval-world.ts';
import { launchBrowser } from '../support/browser.ts';

/** What the page functions use from the browser (the tests are compiled without the DOM library). */
interface BrowserGlobals {
  getComputedStyle(element: unknown): { backgroundColor: string };
  document: { documentElement: { scrollWidth: number } };
}

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
      // Health against its limits, not CheckHealth's JSON.
      'p95 latency (20 probes)': expect.stringMatching(/^\d+ ms, limit \d+ ms: pass$/),
      'Error rate (20 probes)': expect.stringMatching(/^\d+\.\d%, limit \d+\.\d%: pass$/),
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

  it('a reject link opens a reject page: the reason first, Reject the main button, and it rejects', async () => {
    await world?.rt.dispose();
    world = await startApprovalWorld();
    const { releaseId, reject } = await parkedRelease(world, 'orders-api');
    const page = await browser.newPage();
    await page.goto(reject);
    await expect.poll(() => page.title()).toBe('Reject orders-api (prod)?');
    // In reading order: the deadline, then the reason box and Reject, before the details and Approve.
    const order = await page.$$eval('#deadline, #reason, #reject, table, #approve', (nodes) =>
      nodes.map((n) => n.id || n.tagName.toLowerCase()),
    );
    expect(order).toEqual(['deadline', 'reason', 'reject', 'table', 'approve']);
    expect(await page.textContent('#deadline')).toMatch(
      /^Decide in 1 h \(by \d{4}-\d\d-\d\d \d\d:\d\d UTC, \d\d:\d\d Europe\/Berlin\)/,
    );
    // Approve and Reject look different: filled green against filled red here.
    const colours = await page.$$eval('#approve, #reject', (buttons) =>
      buttons.map((b) => (globalThis as unknown as BrowserGlobals).getComputedStyle(b).backgroundColor),
    );
    expect(colours[0]).not.toBe(colours[1]);
    await page.fill('#reason', 'error budget spent this week');
    await Promise.all([page.waitForURL(/\/approvals\//, { waitUntil: 'load' }), page.click('#reject')]);
    expect(await page.textContent('#result')).toBe('Rejected: the release stops and cleans up.');
    expect((await finish(world, releaseId))?.outcome).toBe('Aborted');
  });

  it('reads on a 375 px phone: nothing runs off the screen (screenshots kept for a look)', async () => {
    await world?.rt.dispose();
    world = await startApprovalWorld();
    const { approve, reject } = await parkedRelease(world, 'orders-api');
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-screens-'));
    const phone = await browser.newPage({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1 });
    for (const [name, link] of [
      ['approve', approve],
      ['reject', reject],
    ] as const) {
      await phone.goto(link);
      // Before: the page was 808 px wide on this 375 px screen (the digest and the table ran off it).
      const widest = await phone.evaluate(
        () => (globalThis as unknown as BrowserGlobals).document.documentElement.scrollWidth,
      );
      expect(widest, `${name} page width`).toBeLessThanOrEqual(375);
      for (const id of ['#approve', '#reject']) {
        const box = await phone.locator(id).boundingBox();
        expect(box && box.x + box.width, `${name} page ${id}`).toBeLessThanOrEqual(375);
      }
      await phone.screenshot({ path: join(dir, `${name}-375.png`), fullPage: true });
    }
    process.stdout.write(`approval page screenshots: ${dir}\n`);
  });
});
