/**
 * The `switchyard` binary as an operator runs it, against the local runtime (--local) with its
 * simulated account kept in a temporary state directory between commands.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  dirs.push(dir);
  return dir;
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${root}cli/bin.mjs`, ...args],
      { cwd: root, env: { ...process.env, USER: 'alice', ...env }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 3) : 0, stdout, stderr }),
    );
  });
const local = (state: string, ...args: string[]) => cli(['--local', '--state', state, ...args]);

describe('switchyard CLI (--local)', () => {
  it('releases, shows status and history, rolls back, and refuses a second rollback', async () => {
    const state = stateDir();
    const released = await local(state, 'release', '--target', 'checkout-api', '--tag', 'v2');
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('local: pushed checkout-api:v2 to the simulated ECR');
    expect(released.stdout).toMatch(
      /\+00:09:\d\d {2}ELB {3}weights checkout-api-blue=0 checkout-api-green=100/,
    );
    expect(released.stdout).toContain('checkout-api-8ad35635e58d: Promoted');

    const after = await local(state, '--json', 'status', '--target', 'checkout-api');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({
      live: 'green',
      weights: { blue: 0, green: 100 },
      tasks: { blue: { running: 0 }, green: { running: 4 } },
      lock: null,
      last: { releaseId: 'checkout-api-8ad35635e58d', outcome: 'Promoted' },
    });

    const rolled = await local(
      state,
      '--json',
      'rollback',
      '--target',
      'checkout-api',
      '--reason',
      '5xx spike',
    );
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({
      outcome: 'RolledBack',
      rollbackPath: 'slow',
      snapshotId: expect.stringMatching(/^switchyard-checkout-api-/),
    });
    // Progress went to stderr, so stdout is one JSON document.
    expect(rolled.stderr).toContain('step  PlanRollback');

    const again = await local(state, 'rollback', '--target', 'checkout-api', '--reason', 'again');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /checkout-api-8ad35635e58d, the last promoted release, was already rolled back by checkout-api-rollback-/,
    );

    const history = await local(state, '--json', 'history', '--target', 'checkout-api', '--limit', '5');
    expect(JSON.parse(history.stdout)).toEqual([
      expect.objectContaining({ kind: 'rollback', outcome: 'RolledBack', by: 'alice', reason: '5xx spike' }),
      expect.objectContaining({ kind: 'release', tag: 'v2', outcome: 'Promoted', by: 'alice' }),
    ]);

    const status = await local(state, 'status');
    expect(status.stdout).toMatch(/checkout-api \(prod\) {2}live blue {2}blue 100% \/ green 0%/);
    expect(status.stdout).toContain('payments-api (prod)  live blue');
  });

  it('a canary override moves 10% first; an alarm-free release ends Promoted with exit code 0', async () => {
    const state = stateDir();
    const run = await local(
      state,
      'release',
      '--target',
      'billing-api',
      '--tag',
      'v7',
      '--strategy',
      'canary',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/weights billing-api-blue=90 billing-api-green=10/);
    expect(run.stdout).toMatch(/billing-api-[0-9a-f]{12}: Promoted/);
  });

  it('refuses bad requests with exit code 2 and a message naming the problem', async () => {
    const state = stateDir();
    const unknown = await local(state, 'status', '--target', 'nope');
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain('unknown target "nope" (configured: checkout-api, payments-api');

    const nothing = await local(state, 'rollback', '--target', 'checkout-api', '--reason', 'just in case');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('no previous release of checkout-api to roll back to');

    const badTag = await local(state, 'release', '--target', 'checkout-api', '--tag', 'latest');
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toContain('tag "latest" does not match checkout-api\'s tagPattern');

    const badStrategy = await local(
      state,
      'release',
      '--target',
      'checkout-api',
      '--tag',
      'v2',
      '--strategy',
      'yolo',
    );
    expect(badStrategy.code).not.toBe(0);
    expect(badStrategy.stderr).toMatch(
      /argument 'yolo' is invalid. Allowed choices are all-at-once, canary, linear/,
    );
  });

  it('without --local names the stack outputs it needs, and --help lists the commands', async () => {
    const aws = await cli(['status'], {
      SWITCHYARD_RELEASE_STATE_MACHINE_ARN: '',
      SWITCHYARD_ROLLBACK_STATE_MACHINE_ARN: '',
    });
    expect(aws.code).toBe(2);
    expect(aws.stderr).toContain(
      'set SWITCHYARD_RELEASE_STATE_MACHINE_ARN, SWITCHYARD_ROLLBACK_STATE_MACHINE_ARN',
    );
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['release', 'rollback', 'status', 'history'])
      expect(help.stdout).toContain(command);
    expect(help.stdout).toContain('Exit codes: 0 done as asked, 1 ended otherwise, 2 refused');
  });
});
