/**
 * `switchyard dashboard --local` (issue 18) as an on-call engineer opens it: the real binary, the
 * real browser. It shows each target's live colour, weights and versions, a release as a timeline
 * and its traffic over time, and the history; it follows the releases that other processes run.
 * Screenshots are kept for a look.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser } from '../support/browser.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** The shipped targets file's targets: the dashboard shows every one. */
const targetCount = (
  JSON.parse(readFileSync(join(root, 'local/targets.json'), 'utf8')) as { targets: unknown[] }
).targets.length;
const state = mkdtempSync(join(tmpdir(), 'switchyard-dashboard-'));
const shots = mkdtempSync(join(tmpdir(), 'switchyard-dashboard-screens-'));
let browser: Browser;
let dashboard: ChildProcess | undefined;

const cli = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [inject('cliEntry'), '--local', '--state', state, ...args],
      {
        cwd: root,
        env: { ...process.env, USER: 'alice', SWITCHYARD_LOCAL_APPROVAL_WAIT_SECONDS: '90' },
        timeout: 120_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 3) : 0, stdout, stderr }),
    );
  });

/** Starts `switchyard --local dashboard` and returns the URL it prints. */
const startDashboard = () =>
  new Promise<string>((resolve, reject) => {
    // As bob: the dashboard decides approvals as its user.
    const args = ['--local', '--state', state, '--as', 'bob@example.com', 'dashboard'];
    dashboard = spawn(process.execPath, [inject('cliEntry'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    dashboard.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = out.match(/^http:\/\/127\.0\.0\.1:\d+\/$/m)?.[0];
      if (url) resolve(url);
    });
    dashboard.on('exit', (code) => reject(new Error(`dashboard exited ${code}`)));
  });

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  dashboard?.kill();
  await browser?.close();
  rmSync(state, { recursive: true, force: true });
});

/** What the page's script and Chart.js put on `window` (the tests are compiled without the DOM library). */
interface PageGlobals {
  Chart: {
    getChart(
      id: string,
    ): { data: { labels?: string[]; datasets: { label?: string; data: unknown[] }[] } } | undefined;
  };
  document: { body: { dataset: Record<string, string> } };
}

describe('dashboard in Chromium', () => {
  it('shows live colours, versions, a release timeline and traffic over time, and follows the next release', async () => {
    expect((await cli('release', '--target', 'checkout-api', '--tag', 'v2')).code).toBe(0);
    const url = await startDashboard();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.body.dataset.releases === '1',
      undefined,
      {
        timeout: 30_000,
      },
    );
    const targets = await page.locator('#targets').innerText();
    expect(targets).toMatch(/checkout-api \(prod\)\s+green\s+blue 0% \/ green 100%/);
    expect(targets).toMatch(/v1 \([0-9a-f]{12}\) · 0\/0 tasks\s+v2 \(8ad35635e58d\) · 4\/4 tasks/);
    expect(targets).toContain('payments-api (prod)');
    expect(await page.locator('#summary').innerText()).toBe(
      `${targetCount} targets · 0 running · 0 waiting for approval`,
    );
    expect(await page.locator('#release-title').innerText()).toBe('checkout-api-8ad35635e58d — Promoted');
    const history = await page.locator('#history').innerText();
    expect(history).toMatch(/checkout-api-8ad35635e58d\s+checkout-api\s+v2\s+Promoted\s+\d+m \d+s\s+alice/);
    // The charts were drawn from the record: every phase on the timeline; traffic 0% → 100% on green.
    const charts = await page.evaluate(() => {
      const { Chart } = globalThis as unknown as PageGlobals;
      return {
        phases: Chart.getChart('gantt')?.data.labels,
        traffic: Chart.getChart('weights')?.data.datasets[0]?.data,
      };
    });
    expect(charts.phases).toEqual(
      expect.arrayContaining(['DeployInactiveColour', 'CheckHealth', 'ShiftTraffic', 'Bake']),
    );
    expect((charts.traffic as { y: number }[]).map((p) => p.y)).toEqual([0, 100, 100]);
    await page.screenshot({ path: join(shots, 'dashboard-after-v2.png'), fullPage: true });

    // Another process releases v3; the dashboard picks it up when that process saves the account.
    expect((await cli('release', '--target', 'checkout-api', '--tag', 'v3')).code).toBe(0);
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.body.dataset.releases === '2',
      undefined,
      {
        timeout: 30_000,
      },
    );
    expect(await page.locator('#release-title').innerText()).toMatch(
      /^checkout-api-[0-9a-f]{12} — Promoted$/,
    );
    expect(await page.locator('#targets').innerText()).toMatch(
      /checkout-api \(prod\)\s+blue\s+blue 100% \/ green 0%/,
    );
    await page.screenshot({ path: join(shots, 'dashboard-after-v3.png'), fullPage: true });

    // A release that needs approval, started by alice in another terminal: the dashboard shows it
    // waiting, and bob approves it from the page.
    const waiting = cli('--as', 'alice@example.com', 'release', '--target', 'orders-api', '--tag', 'v2');
    await page.waitForFunction(
      () =>
        !(
          globalThis as unknown as { document: { getElementById(id: string): { hidden: boolean } } }
        ).document.getElementById('waiting-section').hidden,
      undefined,
      { timeout: 60_000 },
    );
    expect(await page.locator('#summary').innerText()).toBe(
      `${targetCount} targets · 1 running · 1 waiting for approval`,
    );
    expect(await page.locator('#waiting').innerText()).toMatch(
      /orders-api-[0-9a-f]{12}\s+orders-api \(prod\)\s+v2\s+bob@example\.com/,
    );
    await page.screenshot({ path: join(shots, 'dashboard-waiting.png'), fullPage: true });
    // The running release's traffic line ends at the data's now (virtual time), not the browser's.
    const lastX = await page.evaluate(() => {
      const points = (globalThis as unknown as PageGlobals).Chart.getChart('weights')?.data.datasets[0]
        ?.data as { x: number }[];
      return points.at(-1)?.x;
    });
    expect(lastX).toBeGreaterThan(0);
    expect(lastX).toBeLessThan(60);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await page.locator('#waiting button.approve').click();
    expect((await waiting).code).toBe(0);
    expect(dialogs[0]).toMatch(/^Approved/);
    // The releasing process saved the account when it ended; the page shows the outcome.
    await expect
      .poll(() => page.locator('#history').innerText(), { timeout: 30_000, interval: 500 })
      .toMatch(
        /orders-api-[0-9a-f]{12}\s+orders-api\s+v2\s+Promoted\s+\S+( \S+)?\s+alice@example\.com\s+bob@example\.com/,
      );
    expect(await page.locator('#waiting-section').isHidden()).toBe(true);

    // A canary judged by analysis (payments-api): the new colour against the old at each bake.
    expect((await cli('release', '--target', 'payments-api', '--tag', 'v2')).code).toBe(0);
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.body.dataset.releases === '4',
      undefined,
      { timeout: 30_000 },
    );
    const p95 = await page.evaluate(() => {
      const chart = (globalThis as unknown as PageGlobals).Chart.getChart('analysis-p95-latency');
      return chart && { labels: chart.data.labels, values: chart.data.datasets.map((d) => d.data) };
    });
    expect(p95?.labels).toEqual(['10% (step 1)', '100% (step 2)']);
    // New and old colour both run v1's latency profile here (p95 about 180 ms).
    for (const series of p95?.values ?? []) for (const v of series) expect(v).toBeGreaterThan(120);
    expect(await page.locator('#release-title').innerText()).toMatch(
      /^payments-api-[0-9a-f]{12} — Promoted$/,
    );
    // And minute by minute over the release's life: each colour's series, and the check's max.
    const live = await page.evaluate(() => {
      const chart = (globalThis as unknown as PageGlobals).Chart.getChart('series-p95-latency');
      return chart?.data.datasets.map((d) => ({
        label: d.label,
        values: (d.data as unknown as { x: number; y: number }[]).map((p) => p.y),
      }));
    });
    expect(live?.map((d) => d.label)).toEqual(['green (new)', 'blue (old)', 'max 2000 ms']);
    // Green served from the canary on (about 25 minutes: a 10-minute canary, a 15-minute bake at
    // 100%); blue until the end of the canary, and before the release.
    expect(live?.[0]?.values.length).toBeGreaterThanOrEqual(15);
    expect(live?.[1]?.values.length).toBeGreaterThanOrEqual(8);
    for (const d of live?.slice(0, 2) ?? []) for (const v of d.values) expect(v).toBeGreaterThan(100);
    await page.screenshot({ path: join(shots, 'dashboard-analysis.png'), fullPage: true });

    // Deciding needs the token only the page carries: another site (or a script) cannot.
    const forged = await fetch(`${url}api/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ releaseId: 'checkout-api-8ad35635e58d', action: 'approve' }),
    });
    expect(forged.status).toBe(403);
    process.stdout.write(`dashboard screenshots: ${shots}\n`);
  }, 180_000);
});
