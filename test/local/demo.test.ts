/**
 * `npm run demo` as a user meets it: the shipped targets file, both scenarios, the CLI's exit codes
 * and its `--json` last line. (The end-to-end suite uses its own fixture targets.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { INIT_MS } from '../../local/execution-environments.ts';
import { runScenario } from '../../local/scenarios.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const targetsFile = `${root}local/targets.json`;
const run = promisify(execFile);
const demo = (...args: string[]) => run(process.execPath, [inject('demoEntry'), ...args], { cwd: root });

describe('demo', () => {
  it('happy on the shipped targets file ends Promoted with green live and blue scaled down', async () => {
    const s = await runScenario('happy', { targetsFile });
    expect(s).toMatchObject({
      outcome: 'Promoted',
      activeColour: 'green',
      weights: { blue: 0, green: 100 },
      tasks: { blue: 0, green: 4 },
    });
    expect(s.virtualSeconds).toBeGreaterThan(20 * 60); // the 20-minute bake is really waited, in virtual time
    expect(s.phases.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'BackupDatabase',
        'DeployInactiveColour',
        'ShiftTraffic',
        'ScaleDownOldColour',
      ]),
    );
    expect(s.snapshotId).toMatch(/^switchyard-checkout-api-[0-9a-f]{12}$/);
  });

  it('bad-image on the shipped targets file ends Aborted with blue untouched and green at 0', async () => {
    const s = await runScenario('bad-image', { targetsFile });
    expect(s).toMatchObject({
      outcome: 'Aborted',
      activeColour: 'blue',
      tasks: { blue: 4, green: 0 },
      error: { Error: 'DeploymentFailed' },
    });
  });

  it("approval: the demo prints the signed link, posts the page's own form, and the release is Promoted", async () => {
    const { stdout } = await demo('--scenario', 'approval', '--json');
    expect(stdout).toMatch(
      /approval {7}http:\/\/127\.0\.0\.1:\d+\/live\/approvals\/[\w-]{24}\?action=approve&approver=alice%40example\.com&exp=\d+&sig=[\w-]{43}/,
    );
    expect(stdout).toContain('page GET 200, decision POST 200');
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
    expect(summary).toMatchObject({ outcome: 'Promoted', weights: { blue: 0, green: 100 } });
    expect(summary.phases).toContainEqual(
      expect.objectContaining({ name: 'Approval', detail: 'approved by alice@example.com via email' }),
    );
  });

  it('approval-rejected: ends Aborted with green cleaned up and the reason in the audit trail', async () => {
    const s = await runScenario('approval-rejected', { targetsFile });
    expect(s).toMatchObject({
      outcome: 'Aborted',
      weights: { blue: 100, green: 0 },
      tasks: { blue: 4, green: 0 },
      error: { Error: 'ApprovalRejected', Cause: expect.stringContaining('bob@example.com') },
      approval: { pageStatus: 200, resultStatus: 200 },
    });
  });

  it('the CLI exits 0 and its last line is the JSON summary', async () => {
    const { stdout } = await demo('--scenario', 'bad-image', '--json');
    const last = stdout.trim().split('\n').at(-1) ?? '';
    const summary = JSON.parse(last);
    expect(summary).toMatchObject({
      scenario: 'bad-image',
      outcome: 'Aborted',
      stateTransitions: expect.any(Number),
    });
    expect(stdout).toMatch(/\+00:00:\d\d {2}step {2}AcquireLock/);
    // A fresh account: every function's first invocation is a cold start, most of them the warm-ups
    // start-release sent, and the summary says so.
    expect(summary.coldStarts).toBeGreaterThan(5);
    expect(summary.coldStarts).toBeLessThan(summary.lambdaInvocations);
    expect(summary.warmUps).toBeGreaterThan(0);
    expect(stdout).toContain(
      `${summary.lambdaInvocations} Lambda invocations, ${summary.warmUps} of them warm-ups (${summary.coldStarts} cold starts, ${INIT_MS} ms init each`,
    );
    // And what they cost: the requests and the inits they ran, a share of the whole, at the
    // published prices (the bench's figures come from the same module).
    const { lambdaCostUsd } = await import('../../local/prices.ts');
    expect(summary.warmUpCostUsd).toBeGreaterThanOrEqual(lambdaCostUsd(summary.warmUps, summary.warmUps));
    expect(summary.warmUpCostUsd).toBeLessThan(summary.costUsd);
    expect(stdout).toContain(
      `cost           $${summary.costUsd.toFixed(5)} at published prices (Step Functions and Lambda, local/prices.ts), of which warm-ups $${summary.warmUpCostUsd.toFixed(5)}`,
    );
  });

  it('the CLI rejects an unknown scenario with exit 2 naming the known ones', async () => {
    // Through `npm run demo`'s own command (tsx local/demo.ts); the other cases run the bundle.
    const tsx = run(
      process.execPath,
      [`${root}node_modules/tsx/dist/cli.mjs`, 'local/demo.ts', '--scenario', 'nope'],
      {
        cwd: root,
      },
    );
    await expect(tsx).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown scenario "nope"; known: happy, bad-image,'),
    });
  });

  it('runs your own targets file: one release of the named target with the fault you pick (issue 18)', async () => {
    // A service of your own: the shipped payments-api, renamed (before: "unknown target checkout-api").
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-demo-'));
    const doc = JSON.parse(readFileSync(targetsFile, 'utf8')) as { targets: { name: string }[] };
    const mine = { ...doc.targets.find((t) => t.name === 'payments-api'), name: 'my-api' };
    const file = join(dir, 'my-targets.json');
    writeFileSync(file, JSON.stringify({ ...doc, targets: [mine] }));
    try {
      const { stdout } = await demo('--targets', file, '--fault', 'error-rate', '--json');
      expect(stdout).toContain(
        '── my-api: my-api: v2 is pushed and v2 answers half of real requests with 5xx',
      );
      expect(stdout).toMatch(/✔ my-api: RolledBack/);
      expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toMatchObject({
        outcome: 'RolledBack',
        activeColour: 'blue',
      });
      // The refusals, side by side: each stops at its arguments, before any world is built.
      const refusals = [
        [
          ['--targets', file, '--fault', 'gremlins'],
          'unknown fault "gremlins"; known: bad-image, error-rate, latency, hook-fails',
        ],
        [['--targets', file, '--at', 'friday'], 'must be an ISO 8601 time'],
        [['--targets', file, '--target', 'nope'], 'unknown target "nope"'],
      ] as const;
      await Promise.all(
        refusals.map(([args, message]) =>
          expect(demo(...args), args.join(' ')).rejects.toMatchObject({
            code: 2,
            stderr: expect.stringContaining(message),
          }),
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('demo: hooks on the shipped targets file', () => {
  it('migration: the expand migration, the smoke test and the check at 100% all ran → Promoted', async () => {
    const s = await runScenario('migration', { targetsFile });
    expect(s.outcome).toBe('Promoted');
    expect(s.hooks).toEqual([
      'preTraffic migrate: hook migrate succeeded (exit 0)',
      'preTraffic smoke: hook smoke succeeded (exit 0)',
      'postTraffic verify: hook verify succeeded (exit 0)',
    ]);
  });

  it('release-group: web, worker and beat move as one → Promoted; the beat never ran twice', async () => {
    const s = await runScenario('release-group', { targetsFile });
    expect(s.outcome).toBe('Promoted');
    expect(s.group).toEqual([
      { name: 'worker', role: 'worker', live: 'green', blue: '0/0', green: '4/4' },
      { name: 'beat', role: 'singleton', live: 'green', blue: '0/0', green: '1/1' },
    ]);
    expect(s.singletonOverlaps).toBe(0);
    expect(s.phases.map((p) => p.name)).toContain('WaitForServiceDrained');
  });

  it('release-group-worker-fails: the worker exits in the canary bake → RolledBack, the whole group back on blue', async () => {
    const s = await runScenario('release-group-worker-fails', { targetsFile });
    expect(s.outcome).toBe('RolledBack');
    expect(s.activeColour).toBe('blue');
    expect(s.group).toEqual([
      { name: 'worker', role: 'worker', live: 'blue', blue: '4/4', green: '0/0' },
      { name: 'beat', role: 'singleton', live: 'blue', blue: '1/1', green: '0/0' },
    ]);
    expect(s.singletonOverlaps).toBe(0);
    expect(s.error?.Cause).toMatch(
      /group member worker: task [0-9a-f]+ stopped: EssentialContainerExited \(exit code 1\)/,
    );
  });

  it('promotion: staging Promoted and soaked, production started by itself, the approval email shows the staging evidence', async () => {
    const s = await runScenario('promotion', { targetsFile });
    expect(s.outcome).toBe('Promoted');
    expect(s.releaseId).toMatch(/^tiu-production-[0-9a-f]{12}$/);
    expect(s.promotion).toMatchObject({
      from: 'tiu-staging',
      releaseId: expect.stringMatching(/^tiu-staging-/),
    });
    expect(s.promotion?.soak).toMatch(
      /^30 min, completed \(30 min live with no rollback and no other release; alarms tiu-staging-5xx never in ALARM\)$/,
    );
    expect(s.approval?.evidence?.[0]).toMatch(
      /^Promoted from: tiu-staging \(staging\): tiu-staging-[0-9a-f]{12} ended Promoted at /,
    );
    expect(s.approval?.evidence?.some((l) => l.startsWith('Upstream soak: 30 min'))).toBe(true);
    expect(s.notifications).toContain('[switchyard] tiu-staging (staging) v2-rc.1: soak completed');
  });

  it('promotion-blocked: a digest never released in staging is refused by the gate, naming it; nothing moved', async () => {
    const s = await runScenario('promotion-blocked', { targetsFile });
    expect(s.outcome).toBe('Aborted');
    expect(s.trafficSteps).toEqual([]);
    expect(s.tasks.green).toBe(0);
    expect(s.error).toMatchObject({ Error: 'PromotionGateClosed' });
    expect(s.error?.Cause).toContain('was never released there: release it to tiu-staging first');
  });

  it('latency-regression: no alarm sees a slower canary, the analysis does → RolledBack, naming the check and the numbers', async () => {
    const s = await runScenario('latency-regression', { targetsFile });
    expect(s.outcome).toBe('RolledBack');
    expect(s.activeColour).toBe('blue');
    expect(s.alarms.filter((a) => a.state === 'ALARM')).toEqual([]);
    expect(s.error?.Error).toBe('AnalysisFailed');
    expect(s.error?.Cause).toMatch(
      /analysis check "p95-latency" failed: p95 latency \d+ ms on the new colour vs \d+ ms on the old \(\+\d+\.\d%/,
    );
  });

  it('--fault latency on a target judged by analysis: the comparison rolls it back, as the demo expects', async () => {
    const { stdout } = await demo('--target', 'payments-api', '--fault', 'latency', '--json');
    expect(stdout).toMatch(/✔ payments-api: RolledBack/);
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toMatchObject({
      outcome: 'RolledBack',
      error: { Error: 'AnalysisFailed' },
    });
  });

  it('migration-fails and load-test-slow end Aborted with nothing shifted', async () => {
    const failed = await runScenario('migration-fails', { targetsFile });
    expect(failed).toMatchObject({
      outcome: 'Aborted',
      activeColour: 'blue',
      error: { Error: 'HookFailed' },
    });
    expect(failed.trafficSteps).toEqual([]);
    const slow = await runScenario('load-test-slow', { targetsFile });
    expect(slow).toMatchObject({ outcome: 'Aborted', activeColour: 'blue', error: { Error: 'HookFailed' } });
    expect(slow.error?.Cause).toMatch(/p95Ms \d+ \(< 2000\) FAILED/);
  });
});

describe('demo: a real system from examples/', () => {
  it('reconciliation.json with --fault hook-fails: its staging tags are not v2, so it is released by hand, and its first hook fails → Aborted', async () => {
    const { stdout } = await demo(
      '--targets',
      'examples/reconciliation.json',
      '--fault',
      'hook-fails',
      '--json',
    );
    expect(stdout).toMatch(/✔ reconciliation-staging: Aborted/);
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toMatchObject({
      outcome: 'Aborted',
      activeColour: 'blue',
      error: { Error: 'HookFailed' },
    });
  });
});

describe('demo: faults on your own targets', () => {
  it('hook-fails and latency reach the outcome they should, or say why nothing sees them', async () => {
    const { ownServiceScenario } = await import('../../local/own-service.ts');
    const hooks = fileURLToPath(new URL('../fixtures/targets-hooks.json', import.meta.url));
    expect(ownServiceScenario(hooks, 'ledger-api', 'hook-fails', undefined).scenario.expect).toBe('Aborted');
    expect(ownServiceScenario(hooks, 'tiu-web', 'latency', undefined).scenario.expect).toBe('Aborted');
    // Analysis sees latency too: in the bakes (payments-api compares p95 with the old colour) and
    // on test traffic before any weight moves (shop-load's load-p95 ≤ 2000 ms).
    expect(ownServiceScenario(targetsFile, 'payments-api', 'latency', undefined).scenario.expect).toBe(
      'RolledBack',
    );
    const analysed = fileURLToPath(new URL('../fixtures/targets-analysis.json', import.meta.url));
    expect(ownServiceScenario(analysed, 'shop-load', 'latency', undefined).scenario.expect).toBe('Aborted');
    expect(ownServiceScenario(analysed, 'shop-api', 'error-rate', undefined).scenario.expect).toBe(
      'RolledBack',
    );
    const plain = ownServiceScenario(targetsFile, 'checkout-api', 'hook-fails', undefined);
    expect(plain.scenario.expect).toBe('Promoted');
    expect(plain.note).toContain('checkout-api has no hooks: there is nothing to fail');
    // The run itself is in test/local/hooks.test.ts (one targets file per process).
  });
});
