/**
 * The `switchyard` binary as an operator runs it, against the local runtime (--local) with its
 * simulated account kept in a temporary state directory between commands.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';

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
const cli = (
  args: string[],
  env: Record<string, string | undefined> = {},
  entry = inject('cliEntry'),
): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      // The CLI bundled once for the run (test/support/cli-bundle.ts); `the shipped entry` runs bin.mjs.
      [entry, ...args],
      // An `undefined` in `env` removes that variable, as a user's shell would not have it.
      {
        cwd: root,
        env: JSON.parse(JSON.stringify({ ...process.env, USER: 'alice', ...env })),
        timeout: 120_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 3) : 0, stdout, stderr }),
    );
  });
const local = (state: string, ...args: string[]) => cli(['--local', '--state', state, ...args]);
const localAs = (state: string, as: string, ...args: string[]) => local(state, '--as', as, ...args);

describe.concurrent('switchyard CLI (--local)', () => {
  it('releases, shows status and history, rolls back, and refuses a second rollback', async () => {
    const state = stateDir();
    // A developer's own AWS settings do not reach the simulated functions: a Lambda environment has
    // none, so their clients keep the SDK's standard retries.
    const released = await cli(
      ['--local', '--state', state, 'release', '--target', 'checkout-api', '--tag', 'v2'],
      {
        AWS_RETRY_MODE: 'adaptive',
        AWS_MAX_ATTEMPTS: '1',
        AWS_PROFILE: 'no-such-profile',
        AWS_USE_FIPS_ENDPOINT: 'true',
        AWS_USE_DUALSTACK_ENDPOINT: 'true',
      },
    );
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('local: pushed checkout-api:v2 to the simulated ECR');
    expect(released.stdout).toMatch(
      /\+00:08:\d\d {2}ELB {3}weights checkout-api-blue=0 checkout-api-green=100/,
    );
    expect(released.stdout).toContain('checkout-api-8ad35635e58d: Promoted');

    const after = await local(state, '--json', 'status', '--target', 'checkout-api');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({
      live: 'green',
      weights: { blue: 0, green: 100 },
      // Which version each colour runs (issue 18: before, only the task definition ARN).
      tasks: {
        blue: { running: 0, tag: 'v1', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
        green: { running: 4, tag: 'v2', digest: expect.stringMatching(/^sha256:8ad35635e58d/) },
      },
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
      // The whole record, as describe has it (issue 18: before, seven fields).
      kind: 'rollback',
      rollbackOf: 'checkout-api-8ad35635e58d',
      reason: '5xx spike',
      durationSeconds: expect.any(Number),
      phases: expect.arrayContaining([
        expect.objectContaining({ name: 'PlanRollback', status: 'succeeded' }),
      ]),
    });
    // Progress went to stderr, so stdout is one JSON document.
    expect(rolled.stderr).toContain('step  PlanRollback');

    const again = await local(state, 'rollback', '--target', 'checkout-api', '--reason', 'again');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /checkout-api-8ad35635e58d, the last promoted release, was already rolled back by checkout-api-rollback-/,
    );

    const history = await local(state, '--json', 'history', '--target', 'checkout-api', '--limit', '5');
    const rollbackId = (JSON.parse(rolled.stdout) as { releaseId: string }).releaseId;
    expect(JSON.parse(history.stdout)).toEqual([
      expect.objectContaining({ kind: 'rollback', outcome: 'RolledBack', by: 'alice', reason: '5xx spike' }),
      // The release stays Promoted (it was), and says what became of it.
      expect.objectContaining({
        kind: 'release',
        tag: 'v2',
        outcome: 'Promoted',
        by: 'alice',
        rolledBackBy: rollbackId,
      }),
    ]);
    for (const entry of JSON.parse(history.stdout) as { durationSeconds: number; approvedBy: string[] }[]) {
      expect(entry.durationSeconds).toBeGreaterThan(0);
      expect(entry.approvedBy).toEqual([]);
    }
    const historyText = await local(state, 'history', '--target', 'checkout-api', '--limit', '5');
    expect(historyText.stdout).toContain(`Promoted (rolled back by ${rollbackId})`);
    // Columns line up however long the ids are (issue 18: a rollback's long id shifted them).
    const lines = historyText.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^started +release +what +outcome +took +by +approved by$/);
    const outcomeAt = (lines[0] as string).indexOf('outcome');
    expect(lines.slice(1).map((l) => l.slice(outcomeAt).split(' ')[0])).toEqual(['RolledBack', 'Promoted']);

    // One release's whole record (issue 18: before, it lived only in state.json or DynamoDB).
    // Read-only commands side by side, each on its own copy of the state (every --local command
    // saves its state when it ends).
    const copy = () => {
      const dir = stateDir();
      cpSync(state, dir, { recursive: true });
      return dir;
    };
    const [described, text, unknown, malformed] = await Promise.all([
      local(copy(), '--json', 'describe', '--release', 'checkout-api-8ad35635e58d'),
      local(copy(), 'describe', '--release', 'checkout-api-8ad35635e58d'),
      local(copy(), 'describe', '--release', 'checkout-api-000000000000'),
      local(copy(), 'describe', '--release', '../../etc/passwd'),
    ]);
    expect(described.code, described.stderr).toBe(0);
    const record = JSON.parse(described.stdout) as {
      phases: { name: string; status: string; detail: string | null; seconds: number }[];
    } & Record<string, unknown>;
    expect(record).toMatchObject({
      releaseId: 'checkout-api-8ad35635e58d',
      kind: 'release',
      outcome: 'Promoted',
      image: { tag: 'v2' },
      colours: { from: 'blue', to: 'green' },
      snapshotId: expect.stringMatching(/^switchyard-checkout-api-/),
      rollbackPlan: expect.stringMatching(
        /^weights back to blue while it is warm; once scaled down, blue is redeployed with arn:aws:ecs:/,
      ),
      approval: null,
    });
    const phase = (name: string) => record.phases.find((p) => p.name === name);
    expect(phase('CheckHealth')?.detail).toMatch(
      /^Healthy targets: 4; p95 latency \(\d+ probes\): \d+ ms, limit \d+ ms: pass; Error rate \(\d+ probes\): [\d.]+%, limit [\d.]+%: pass$/,
    );
    expect(phase('Notify')?.detail).toBe(
      '"[switchyard] checkout-api (prod) v2: Promoted" sent on sns, eventbridge, slack, teams',
    );
    expect(phase('ShiftTraffic')?.seconds).toBeGreaterThanOrEqual(0);
    // What the outcome notice said, not only that it went (issue 18).
    expect(record.notice).toMatchObject({
      subject: '[switchyard] checkout-api (prod) v2: Promoted',
      text: expect.stringContaining(
        'Release checkout-api-8ad35635e58d of checkout-api (prod) ended Promoted.',
      ),
      delivered: ['sns', 'eventbridge', 'slack', 'teams'],
      failed: [],
    });
    expect(text.stdout).toContain('Release checkout-api-8ad35635e58d of checkout-api (prod)');
    expect(text.stdout).toMatch(/^Outcome: +Promoted after \d+m \d+s$/m);
    expect(text.stdout).toMatch(/^ {2}at +step +took +status +detail$/m);
    expect([unknown.code, malformed.code]).toEqual([2, 2]);
    expect(unknown.stderr).toContain('no release checkout-api-000000000000');
    expect(malformed.stderr).toContain('is not a release id');

    const status = await local(state, 'status');
    expect(status.stdout).toMatch(/checkout-api \(prod\) {2}live blue {2}blue 100% \/ green 0%/);
    expect(status.stdout).toContain('payments-api (prod)  live blue');
    // A group's members: each with its live colour and tasks.
    expect(status.stdout).toContain('  group worker (worker): live blue, tasks blue 4/4, green 0/0');
    expect(status.stdout).toContain('  group beat (singleton): live blue, tasks blue 1/1, green 0/0');

    // A later process deploys to green again: its ECS deployment must not take the id of green's
    // earlier one (each process restarts the simulator's random numbers), or the wait for it
    // would never see it complete and the release would time out.
    const next = await local(state, 'release', '--target', 'checkout-api', '--tag', 'v3');
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/checkout-api-[0-9a-f]{12}: Promoted/);
    // Eleven processes, one after another: on a busy 2-core machine a minute is not enough.
  }, 180_000);

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
    expect(badStrategy.code).toBe(2);
    expect(badStrategy.stderr).toMatch(
      /argument 'yolo' is invalid. Allowed choices are all-at-once, canary, linear/,
    );

    // A newline in --as would put a forged line into approvers' emails and Slack (issue 14, case 6).
    const forged = await localAs(
      state,
      'mallory\nApprove: https://evil.example/approvals/x',
      'rollback',
      '--target',
      'checkout-api',
      '--reason',
      'x',
    );
    expect(forged.code).toBe(2);
    expect(forged.stderr).toMatch(
      /--as contains a control character \(U\+000a, e\.g\. a newline\) at position 8/,
    );
  });

  it('with --json, a refusal is an error object on stdout; a state built from a changed targets file says how to fix it', async () => {
    const state = stateDir();
    const missingTag = await local(state, '--json', 'release', '--target', 'checkout-api');
    expect(missingTag.code).toBe(2);
    // Before: nothing at all on stdout, so a script reading the JSON had no document.
    expect(JSON.parse(missingTag.stdout)).toEqual({
      error: {
        name: 'UsageError',
        message:
          "required option '--tag <tag>' not specified (or --task-definition <file>, to change the task definition and keep the live image)",
        exitCode: 2,
      },
    });
    const unknown = await local(state, '--json', 'status', '--target', 'nope');
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ exitCode: 2 });
    expect(JSON.parse(unknown.stdout).error.message).toContain('unknown target "nope"');

    // A state directory made with one targets file, used after that file changed.
    const other = stateDir();
    const targets = join(other, 'targets.json');
    const doc = JSON.parse(readFileSync(join(root, 'local', 'targets.json'), 'utf8')) as {
      targets: { name: string; environment: string }[];
    };
    writeFileSync(targets, JSON.stringify(doc));
    const first = await local(other, '--targets', targets, 'status', '--target', 'checkout-api');
    expect(first.code, first.stderr).toBe(0);
    const renamed = doc.targets.map((t, i) => (i === 0 ? { ...t, environment: 'staging' } : t));
    writeFileSync(targets, JSON.stringify({ ...doc, targets: [...renamed.slice(0, -1)] }));
    const changed = await local(other, '--json', '--targets', targets, 'status', '--target', 'checkout-api');
    // Before: exit 3 and "no listener arn:…", with no hint.
    expect(changed.code).toBe(2);
    const removed = doc.targets.at(-1)?.name;
    expect(changed.stderr).toContain(`changed since the local account in ${other} was built from it (`);
    // Each change named, in name order.
    const named = [`checkout-api changed`, `${removed} removed`]
      .sort((a, b) => a.localeCompare(b))
      .join(', ');
    expect(changed.stderr).toContain(`(${named})`);
    expect(changed.stderr).toContain(
      `remove ${other} to build a new account, or pass --state <another directory>`,
    );
    expect(JSON.parse(changed.stdout).error).toMatchObject({ name: 'StateMismatch', exitCode: 2 });
  });

  it('plan: read-only, walks freeze windows from --at, and refuses a bad --at or target with exit 2', async () => {
    const state = stateDir();
    // billing-api freezes Fridays 17:00-20:00 Berlin; 2026-01-09 is a Friday, 15:59 UTC is 16:59 there.
    const planned = await local(
      state,
      '--json',
      'plan',
      '--target',
      'billing-api',
      '--tag',
      'v2',
      '--at',
      '2026-01-09T15:59:00Z',
    );
    expect(planned.code, planned.stderr).toBe(0);
    const doc = JSON.parse(planned.stdout) as {
      freezes: { window: string; until: string }[];
      wouldStart: boolean;
    };
    expect(doc.wouldStart).toBe(true);
    expect(doc.freezes).toEqual([
      expect.objectContaining({ window: 'Friday evening change freeze', until: '2026-01-09T19:00:00.000Z' }),
    ]);
    // Nothing was pushed or started: the next plan still finds no image and no history.
    const again = await local(state, '--json', 'plan', '--target', 'billing-api', '--tag', 'v2');
    expect(JSON.parse(again.stdout)).toMatchObject({ image: { digest: null }, etaSource: 'configuration' });
    for (const args of [
      ['plan', '--target', 'billing-api', '--tag', 'v2', '--at', 'yesterday'],
      ['plan', '--target', 'nope', '--tag', 'v2'],
    ]) {
      const refused = await local(state, '--json', ...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(JSON.parse(refused.stdout).error.exitCode).toBe(2);
    }
  });

  it('promotion: a digest never released in staging is refused at release, and plan and describe say which gate', async () => {
    const state = stateDir();
    const refused = await local(state, '--json', 'release', '--target', 'tiu-production', '--tag', 'v3');
    expect(refused.code, refused.stderr).toBe(1);
    const release = JSON.parse(refused.stdout) as {
      releaseId: string;
      outcome: string;
      error: { Error: string };
    };
    expect(release).toMatchObject({ outcome: 'Aborted', error: { Error: 'PromotionGateClosed' } });
    const planned = await local(state, '--json', 'plan', '--target', 'tiu-production', '--tag', 'v3');
    // 1: it would not go through now (a check fails); 2 is for usage errors.
    expect(planned.code, planned.stderr).toBe(1);
    const plan = JSON.parse(planned.stdout) as {
      wouldStart: boolean;
      checks: { check: string; ok: boolean; detail: string }[];
    };
    expect(plan.wouldStart).toBe(false);
    expect(plan.checks.find((c) => c.check === 'promotion gate')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('was never released there: release it to tiu-staging first'),
    });
    const described = await local(state, 'describe', '--release', release.releaseId);
    expect(described.stdout).toMatch(
      /Why: +PromotionGateClosed: promotion gate: tiu-production takes only images promoted in tiu-staging/,
    );
  });

  it('--fault and --at in local mode: a bad image ends Aborted; a release into a freeze window waits for its end', async () => {
    const [bad, frozen, notLocal] = await Promise.all([
      local(
        stateDir(),
        '--json',
        'release',
        '--target',
        'checkout-api',
        '--tag',
        'v2',
        '--fault',
        'bad-image',
      ),
      // billing-api freezes Fridays 17:00-20:00 Berlin; 2026-01-09 15:59 UTC is 16:59 there.
      local(
        stateDir(),
        '--at',
        '2026-01-09T15:59:00Z',
        '--json',
        'release',
        '--target',
        'billing-api',
        '--tag',
        'v2',
      ),
      cli(['release', '--target', 'checkout-api', '--tag', 'v2', '--fault', 'bad-image']),
    ]);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stderr).toContain('local: checkout-api:v2 fails its health checks (--fault bad-image)');
    expect(JSON.parse(bad.stdout)).toMatchObject({
      outcome: 'Aborted',
      error: { Error: 'DeploymentFailed' },
    });
    expect(frozen.code, frozen.stderr).toBe(0);
    const { phases } = JSON.parse(frozen.stdout) as {
      phases: { name: string; endedAt: string; detail: string | null }[];
    };
    // The first ShiftTraffic met the window and moved nothing; the weights moved at its end.
    const shifted = phases.find((p) => p.name === 'ShiftTraffic' && /100% on/.test(p.detail ?? ''));
    expect(Date.parse(shifted?.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse('2026-01-09T19:00:00Z'));
    expect(notLocal.code).toBe(2);
    expect(notLocal.stderr).toContain(
      '--fault simulates a failure in the local runtime: use it with --local',
    );
  });

  it('the shipped entry (cli/bin.mjs, the sources through tsx) releases and reports as the bundle does', async () => {
    const state = stateDir();
    const bin = `${root}cli/bin.mjs`;
    // The suite's own process runs silent (test/setup.ts); a user's shell sets no log level.
    const released = await cli(
      ['--local', '--state', state, 'release', '--target', 'checkout-api', '--tag', 'v2'],
      { POWERTOOLS_LOG_LEVEL: undefined },
      bin,
    );
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('checkout-api-8ad35635e58d: Promoted');
    // No simulated function's log line reaches the terminal (one "release outcome" INFO line did).
    expect(released.stdout).not.toContain('"level"');
    const status = await cli(
      ['--local', '--state', state, '--json', 'status', '--target', 'checkout-api'],
      {},
      bin,
    );
    expect(JSON.parse(status.stdout)).toMatchObject({ live: 'green', weights: { blue: 0, green: 100 } });
  });

  it('without --local names the stack outputs it needs; --help lists the commands; --version', async () => {
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
    for (const command of ['release', 'rollback', 'status', 'history', 'approve', 'reject'])
      expect(help.stdout).toContain(command);
    expect(help.stdout).toContain('Exit codes: 0 done as asked, 1 ended otherwise, 2 refused');
    const version = await cli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  describe('approvals', () => {
    /** Starts a release of orders-api (approval required) and waits for its approvers' emails in the outbox. */
    const parkedRelease = async (state: string, by: string) => {
      const running = cli(
        ['--local', '--state', state, '--as', by, 'release', '--target', 'orders-api', '--tag', 'v2'],
        {
          SWITCHYARD_LOCAL_APPROVAL_WAIT_SECONDS: '90',
        },
      );
      const outbox = join(state, 'outbox');
      for (let i = 0; i < 600 && !(existsSync(outbox) && readdirSync(outbox).length > 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const files = existsSync(outbox) ? readdirSync(outbox) : [];
      expect(files.length, 'approval emails in the outbox').toBeGreaterThan(0);
      return { running, releaseId: (files[0] as string).split('.')[0] as string, asked: files };
    };

    it('a release waits for approval; approve from another process (not as the requester) promotes it', async () => {
      const state = stateDir();
      const { running, releaseId, asked } = await parkedRelease(state, 'alice@example.com');
      // alice started it: only bob is asked.
      expect(asked).toEqual([`${releaseId}.bob@example.com.txt`]);
      const self = await localAs(state, 'alice@example.com', 'approve', '--release', releaseId);
      expect(self.code).toBe(2);
      expect(self.stderr).toContain(
        `no approval link was sent to alice@example.com for ${releaseId}; asked: bob@example.com`,
      );

      const approved = await localAs(state, 'bob@example.com', 'approve', '--release', releaseId);
      expect(approved.code, approved.stderr).toBe(0);
      expect(approved.stdout).toMatch(
        /^Approved: the release goes on\. APPROVED by bob@example\.com at .* via email$/m,
      );
      const released = await running;
      expect(released.code, released.stderr).toBe(0);
      expect(released.stdout).toContain(`release ${releaseId} waits for approval by bob@example.com`);
      expect(released.stdout).toContain(`${releaseId}: Promoted`);

      // Once the release is over, nothing serves its page: a late approve says so.
      const late = await localAs(state, 'bob@example.com', 'approve', '--release', releaseId);
      expect(late.code).toBe(2);
      expect(late.stderr).toContain(`release ${releaseId} is not waiting in a running local process`);
      const history = await local(state, '--json', 'history', '--target', 'orders-api');
      expect(JSON.parse(history.stdout)).toMatchObject([
        { releaseId, outcome: 'Promoted', approvedBy: ['bob@example.com'] },
      ]);
      // describe shows what the approvers were shown, as the email, the page and Slack carried it.
      const described = await local(state, 'describe', '--release', releaseId);
      expect(described.stdout).toContain('  shown to the approvers (email, page, Slack):');
      expect(described.stdout).toMatch(/^ {4}Target: orders-api \(prod\)$/m);
      expect(described.stdout).toMatch(/^ {4}Rollback plan: weights back to blue/m);
    });

    it('reject needs a reason and ends the release Aborted (exit 1 for the release command)', async () => {
      const state = stateDir();
      const { running, releaseId } = await parkedRelease(state, 'ci-bot');
      const noReason = await localAs(state, 'bob@example.com', 'reject', '--release', releaseId);
      expect(noReason.code).not.toBe(0);
      expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
      const rejected = await localAs(
        state,
        'bob@example.com',
        'reject',
        '--release',
        releaseId,
        '--reason',
        'wrong build',
      );
      expect(rejected.code, rejected.stderr).toBe(0);
      expect(rejected.stdout).toContain('Rejected: the release stops and cleans up.');
      const released = await running;
      expect(released.code).toBe(1);
      expect(released.stdout).toContain(`${releaseId}: Aborted`);
      expect(released.stdout).toContain('rejected by bob@example.com via email: wrong build');
    });
  });
});
