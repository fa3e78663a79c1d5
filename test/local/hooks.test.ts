/**
 * Hooks end to end: one-off ECS tasks before traffic moves (migrations, smoke and load tests) and
 * after 100%, waited for by their Task State Change events, judged and recorded.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findTarget } from '../../functions/shared/config.ts';
import { REGISTRATIONS } from '../../functions/shared/registration-turns.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import { buildWorld, FAST_TARGET_GROUPS } from '../../local/world.ts';

const targetsFile = fileURLToPath(new URL('../fixtures/targets-hooks.json', import.meta.url));

let rt: LocalRuntime | undefined;
afterEach(async () => {
  await rt?.dispose();
  rt = undefined;
});

const world = async (faults?: FaultPlan) => {
  rt = await LocalRuntime.start({ targetsFile, faults }, (r) => {
    for (const t of r.targets.targets)
      buildWorld(r.account, t, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
  });
  return rt;
};

const release = async (r: LocalRuntime, target: string, tag: string): Promise<ReleaseRecord> => {
  r.push(target, tag);
  await r.settle();
  await r.drain();
  const digest = EcrModel.digestOf(target, tag);
  const execution = r.executions().find((e) => JSON.parse(e.input).image?.digest === digest);
  const record = execution && (await r.release(execution.name));
  if (!record) throw new Error(`no release of ${target}:${tag}`);
  return record;
};

const firstWeightChange = (record: ReleaseRecord) =>
  record.phases.find((p) => p.name === 'ShiftTraffic')?.startedAt ?? '';

describe('hooks', () => {
  it('runs preTraffic hooks in order before any weight moves, postTraffic at 100% with the old colour warm → Promoted', async () => {
    const r = await world();
    const record = await release(r, 'ledger-api', 'v2');
    const target = findTarget(r.targets, 'ledger-api');

    expect(record.outcome).toBe('Promoted');
    expect(record.hooks?.map((h) => [h.point, h.name, h.status, h.exitCode])).toEqual([
      ['preTraffic', 'migrate', 'succeeded', 0],
      ['preTraffic', 'smoke', 'succeeded', 0],
      ['postTraffic', 'verify', 'succeeded', 0],
    ]);
    const [migrate, smoke, verify] = record.hooks ?? [];
    // In order, and both before the first SetWeight; the migration after the snapshot.
    expect((migrate?.stoppedAt ?? 'z') <= (smoke?.startedAt ?? '')).toBe(true);
    expect((smoke?.stoppedAt ?? 'z') <= firstWeightChange(record)).toBe(true);
    const snapshot = record.phases.find((p) => p.name === 'WaitForSnapshot');
    expect((snapshot?.endedAt ?? 'z') <= (migrate?.startedAt ?? '')).toBe(true);
    // The post-traffic hook ran after the last bake, before the old colour was scaled down.
    const scaleDown = record.phases.find((p) => p.name === 'ScaleDownOldColour');
    expect((verify?.stoppedAt ?? 'z') <= (scaleDown?.startedAt ?? '')).toBe(true);
    // The task ran the release's new revision with the hook's command, in the service's network.
    const tasks = r.account.ecs.oneOff?.all() ?? [];
    expect(tasks.map((t) => t.command.join(' '))).toEqual([
      'alembic upgrade head',
      'python -m smoke',
      'python scripts/validate_migration.py',
    ]);
    expect(tasks.every((t) => t.lastStatus === 'STOPPED' && t.group === 'switchyard:ledger-api')).toBe(true);
    // What is recorded: the log stream, linked, and its last lines.
    expect(migrate?.logStream).toMatch(/^\/ecs\/ledger-api:ecs\/app\/[0-9a-f]{32}$/);
    expect(migrate?.logUrl).toContain(
      'console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups',
    );
    expect(migrate?.logTail?.at(-1)).toBe('alembic upgrade head: done');
    expect(record.migrated).toBe('expand');
    expect(liveWeights(r, target)).toEqual({ blue: 0, green: 100 });
    // Its state changes on Switchyard's bus: each canary step, then the outcome.
    expect(
      r.account.eventbridge.published
        .filter((e) => e.detail.releaseId === record.releaseId)
        .map((e) => [e.detail.state, e.detail.percent ?? null]),
    ).toEqual([
      ['Started', null],
      ['TrafficShifted', 10],
      ['TrafficShifted', 100],
      ['Promoted', null],
    ]);
  });

  it('a failing migration aborts: nothing shifted, the new colour cleaned up, the snapshot kept', async () => {
    const r = await world({ tasks: { 'alembic upgrade': { exitCode: 3 } } });
    const record = await release(r, 'ledger-api', 'v2');
    const target = findTarget(r.targets, 'ledger-api');

    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Error).toBe('HookFailed');
    expect(record.error?.Cause).toMatch(
      /^hook migrate failed: its container exited 3 \(Essential container in task exited\)/,
    );
    expect(record.error?.Cause).toContain(
      'Last log line: alembic upgrade head: error, exiting with status 3.',
    );
    expect(record.error?.Cause).toContain('Log: https://us-east-1.console.aws.amazon.com/cloudwatch/');
    expect(record.hooks?.map((h) => [h.name, h.status])).toEqual([['migrate', 'failed']]);
    expect(record.phases.some((p) => p.name === 'ShiftTraffic')).toBe(false);
    expect(liveWeights(r, target)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(r, target)).toEqual({ blue: 4, green: 0 });
    expect(record.snapshotId).toBeTruthy();
    expect(r.account.rds.snapshots.get(record.snapshotId as string)?.status).toBe('available');
    // A migration that started may have changed the schema, whatever its exit: the record says so.
    expect(record.migrated).toBe('expand');
  });

  it('a hook that hangs is stopped at its timeout and fails the release (HookFailed, task stopped)', async () => {
    const r = await world({ tasks: { 'python -m smoke': { hang: true } } });
    const record = await release(r, 'ledger-api', 'v2');

    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Cause).toMatch(
      /^hook smoke did not stop within its timeout of 300 s; its task was stopped/,
    );
    const smoke = r.account.ecs.oneOff?.all().find((t) => t.command.includes('smoke'));
    expect(smoke?.lastStatus).toBe('STOPPED');
    // SIGTERM ignored: killed after the stop timeout.
    expect(smoke?.exitCode).toBe(137);
    const wait = record.phases.find((p) => p.name === 'RecordHook' && p.status === 'failed');
    expect(wait).toBeTruthy();
  });

  it('a hook whose task cannot start fails with the reason ECS gives', async () => {
    const r = await world({
      tasks: {
        'alembic upgrade': {
          failToStart: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
        },
      },
    });
    const record = await release(r, 'ledger-api', 'v2');

    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Cause).toMatch(
      /^hook migrate failed: its task failed to start: CannotPullContainerError: pull image manifest/,
    );
    expect(record.hooks?.[0]?.stopCode).toBe('TaskFailedToStart');
    expect(record.hooks?.[0]?.exitCode).toBeUndefined();
  });

  it('a failing postTraffic hook rolls back: traffic on the old colour again, new colour to 0', async () => {
    const r = await world({ tasks: { validate_migration: { exitCode: 1 } } });
    const record = await release(r, 'ledger-api', 'v2');
    const target = findTarget(r.targets, 'ledger-api');

    expect(record.outcome).toBe('RolledBack');
    expect(record.error?.Error).toBe('HookFailed');
    expect(record.error?.Cause).toMatch(/^hook verify failed: its container exited 1/);
    expect(liveWeights(r, target)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(r, target)).toEqual({ blue: 4, green: 0 });
    // The expand migration leaves nothing to restore: the plan said so, the record says it ran.
    expect(record.migrated).toBe('expand');
  });

  it('a watched alarm during a postTraffic hook ends it at once and rolls back', async () => {
    const r = await world({ tasks: { validate_migration: { runSeconds: 1800 } } });
    const target = findTarget(r.targets, 'ledger-api');
    r.push('ledger-api', 'v2');
    const running = () =>
      r.account.ecs.oneOff
        ?.all()
        .some((t) => t.command.includes('scripts/validate_migration.py') && t.lastStatus === 'RUNNING') ??
      false;
    expect(await r.runUntil(running, 3 * 3600)).toBe(true);
    const started = Date.now();
    r.account.startErrors('v2', 0.3);
    await r.settle();
    await r.drain();
    const record = await r.release(r.executions()[0]?.name ?? '');

    expect(record?.outcome).toBe('RolledBack');
    expect(record?.error?.Error).toBe('AlarmTriggered');
    expect(record?.error?.Cause).toMatch(/during hook verify at 100%: alarm "ledger-api-5xx"/);
    expect(liveWeights(r, target)).toEqual({ blue: 100, green: 0 });
    // Not the hook's 30 minutes: the alarm's own evaluation, then one event.
    const verify = record?.hooks?.find((h) => h.name === 'verify');
    expect(verify?.status).toBe('failed');
    expect(Date.parse(record?.trafficRestoredAt ?? record?.endedAt ?? '') - started).toBeLessThan(5 * 60_000);
    // The hook was no migration: its task was stopped, not left running.
    const task = r.account.ecs.oneOff?.all().find((t) => t.command.includes('scripts/validate_migration.py'));
    expect(task?.lastStatus).toBe('STOPPED');
  });

  it('a lost Task State Change event costs one reconciler period, not the hook timeout', async () => {
    const r = await world({ events: [{ detailType: 'ECS Task State Change', action: 'drop', times: 1000 }] });
    const record = await release(r, 'ledger-api', 'v2');

    expect(record.outcome).toBe('Promoted');
    const phases = record.phases.filter((p) => p.name === 'WaitForHook');
    expect(phases.length).toBe(3);
    for (const [i, hook] of (record.hooks ?? []).entries()) {
      const waited = phases[i];
      // Resumed by the reconciler's DescribeTasks within its one-minute period after the stop.
      expect(Date.parse(waited?.endedAt ?? '') - Date.parse(hook.stoppedAt ?? '')).toBeLessThanOrEqual(
        61_000,
      );
    }
  });
});

describe('load-test hooks', () => {
  it('judges the figures the task printed against p95, error rate and requests per second', async () => {
    const r = await world();
    const record = await release(r, 'tiu-web', 'v2');

    expect(record.outcome).toBe('Promoted');
    const load = record.hooks?.[0];
    expect(load?.figures?.p95Ms).toBeGreaterThan(150);
    expect(load?.figures?.p95Ms).toBeLessThan(2000);
    expect(load?.thresholds?.map((t) => [t.figure, t.rule, t.limit, t.passed])).toEqual([
      ['p95Ms', '<', 2000, true],
      ['errorRate', '<', 0.05, true],
      ['rps', '≥', 10, true],
    ]);
    expect(load?.detail).toMatch(
      /^hook load-test succeeded \(exit 0; p95Ms \d+ \(< 2000\) ok, errorRate [\d.]+ \(< 0.05\) ok, rps 20 \(≥ 10\) ok\)$/,
    );
    // It ran for its k6 duration, after the health check and before any weight moved.
    expect(Date.parse(load?.stoppedAt ?? '') - Date.parse(load?.startedAt ?? '')).toBeGreaterThanOrEqual(
      120_000,
    );
  });

  it('fails on a slow image: p95 over 2 s and fewer than 10 requests/s, nothing shifted', async () => {
    const r = await world({ latencyMs: { v2: 6000 } });
    const record = await release(r, 'tiu-web', 'v2');
    const target = findTarget(r.targets, 'tiu-web');

    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Error).toBe('HookFailed');
    expect(record.error?.Cause).toMatch(
      /^hook load-test failed: p95Ms \d{4} \(< 2000\) FAILED; rps [\d.]+ \(≥ 10\) FAILED/,
    );
    expect(liveWeights(r, target)).toEqual({ blue: 100, green: 0 });
  });

  it('a load test whose log cannot be read fails rather than passing unjudged', async () => {
    const r = await world({
      latencyMs: { v2: 6000 },
      api: [
        { service: 'CloudWatchLogs', operation: 'GetLogEvents', error: 'AccessDeniedException', times: 1000 },
      ],
    });
    const record = await release(r, 'tiu-web', 'v2');

    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Cause).toMatch(
      /^hook load-test failed: its log \/ecs\/tiu-web:ecs\/app\/[0-9a-f]{32} could not be read/,
    );
  });

  it('a load test that prints no figures fails rather than passing unjudged', async () => {
    // quiet-web's load test runs `node load.js`, which prints no SWITCHYARD_RESULT line.
    const r = await world();
    const record = await release(r, 'quiet-web', 'v2');

    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Cause).toMatch(
      /^hook load-test failed: no SWITCHYARD_RESULT line in the task's log/,
    );
  });
});

describe('migrations declare their compatibility', () => {
  it('a breaking migration: the plan says so, and an ops rollback needs the restore first (--force)', async () => {
    const r = await world();
    const record = await release(r, 'billing-api', 'v2');
    const target = findTarget(r.targets, 'billing-api');
    expect(record.outcome).toBe('Promoted');
    expect(record.migrated).toBe('breaking');
    const started = r.account.sns.published.find(
      (m) => m.subject?.includes('billing-api') && m.subject.endsWith('started'),
    );
    expect(started?.message).toContain('Migration migrate (breaking, undo: flask db downgrade): BREAKING');
    expect(started?.message).toContain(
      'Rollback plan: after the migration, nothing is put back automatically',
    );

    const refused = r.startRollback({ target: 'billing-api', reason: '5xx after release' });
    await r.settle();
    const rollback = await r.release(refused);
    expect(rollback?.outcome).toBe('Aborted');
    expect(rollback?.error?.Error).toBe('RollbackNeedsRestore');
    expect(rollback?.error?.Cause).toContain(`Restore the database from snapshot ${record.snapshotId} first`);
    expect(rollback?.error?.Cause).toContain('switchyard rollback --target billing-api --force');
    expect(liveWeights(r, target)).toEqual({ blue: 0, green: 100 });

    // The operator restored the snapshot; now the rollback goes ahead.
    await r.wait(2);
    const forced = r.startRollback({ target: 'billing-api', reason: 'restored snapshot', force: true });
    await r.settle();
    expect((await r.release(forced))?.outcome).toBe('RolledBack');
    expect(liveWeights(r, target)).toEqual({ blue: 100, green: 0 });
  });

  it('after a breaking migration a failure holds traffic on the new version instead of putting it back', async () => {
    const r = await world({ errorRates: { v2: 0.3 } });
    const record = await release(r, 'billing-api', 'v2');
    const target = findTarget(r.targets, 'billing-api');

    expect(record.outcome).toBe('RollbackFailed');
    expect(record.migrated).toBe('breaking');
    expect(liveWeights(r, target)).toEqual({ blue: 0, green: 100 });
    const notice = record.notice?.text ?? '';
    expect(notice).toContain('AlarmTriggered');
    expect(notice).toContain('RollbackHeld: a breaking migration ran');

    // The way out it names: restore (the operator's), then a forced rollback puts the old version back.
    const forced = r.startRollback({ target: 'billing-api', reason: 'restored the snapshot', force: true });
    await r.settle();
    const rollback = await r.release(forced);
    expect(rollback?.error?.Error).not.toBe('NothingToRollBack');
    expect(rollback?.outcome).toBe('RolledBack');
    expect(rollback?.rollbackOf).toBe(record.releaseId);
    expect(liveWeights(r, target)).toEqual({ blue: 100, green: 0 });
  });

  it('a release stopped after its breaking migration is recovered without putting traffic back', async () => {
    const r = await world();
    const target = findTarget(r.targets, 'billing-api');
    r.push('billing-api', 'v2');
    const id = () => r.executions().find((e) => e.name.startsWith('billing-api-'))?.name ?? '';
    const baking = () =>
      r.executions().some((e) => e.name === id() && e.history.some((h) => h.state === 'Bake'));
    expect(await r.runUntil(baking)).toBe(true);
    r.stopExecution(id());
    await r.settle();
    await r.wait(180);
    const record = await r.release(id());
    expect(record?.outcome).toBe('RollbackFailed');
    expect(record?.error?.Cause).toContain(
      'a breaking migration ran, so traffic was left as it is (blue 0 / green 100)',
    );
    expect(liveWeights(r, target)).toEqual({ blue: 0, green: 100 });
    expect(await r.store.getLock('billing-api')).toBeUndefined();
  });

  it('an expand migration needs no restore: an ops rollback after it goes ahead without --force', async () => {
    const r = await world();
    await release(r, 'ledger-api', 'v2');
    const rollback = r.startRollback({ target: 'ledger-api', reason: 'bad numbers' });
    await r.settle();
    expect((await r.release(rollback))?.outcome).toBe('RolledBack');
    expect((await r.release(rollback))?.error).toBeUndefined();
  });
});

describe('--fault hook-fails on your own targets', () => {
  it('every hook task exits 1: a target with preTraffic hooks ends Aborted, HookFailed', async () => {
    const { ownServiceScenario } = await import('../../local/own-service.ts');
    const { runRelease } = await import('../../local/scenarios.ts');
    const { scenario } = ownServiceScenario(targetsFile, 'ledger-api', 'hook-fails', undefined);
    const summary = await runRelease('ledger-api', scenario, { targetsFile });
    expect(summary).toMatchObject({ outcome: 'Aborted', error: { Error: 'HookFailed' } });
    expect(summary.outcome).toBe(scenario.expect);
  });
});

/**
 * edge-web: Lambda hooks. The state machine invokes each function itself (the Lambda integration,
 * synchronous); RecordLambdaHook judges the answer: a smoke test, a load test answering its figures,
 * and a postTraffic check.
 */
describe('Lambda hooks', () => {
  it('run in environments of their own, counted against the account’s concurrency', async () => {
    // One concurrent execution for the whole account: a hook's function takes it while it runs.
    rt = await LocalRuntime.start(
      { targetsFile, lambdaLimits: { account: 1, scalingBurst: 1_000, scalingPerSecond: 100 } },
      (r) => {
        for (const t of r.targets.targets)
          buildWorld(r.account, t, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
      },
    );
    const environments = rt.lambda.environments;
    const acquire = environments.acquire.bind(environments);
    const acquired: string[] = [];
    environments.acquire = (folder, user) => {
      const got = acquire(folder, user);
      acquired.push(folder);
      return got;
    };
    const record = await release(rt, 'edge-web', 'v2');
    expect(record.outcome, JSON.stringify(record.error)).toBe('Promoted');
    for (const name of ['edge-web-smoke', 'edge-web-verify'])
      expect(
        acquired.filter((f) => f === `hook:${name}`),
        name,
      ).toHaveLength(1);
    expect(environments.peakConcurrency).toBe(1);
    // Every environment given back: none leaked. (Between releases the reconciler's warm-ups come
    // and go every fourth minute, and at one concurrent execution they queue behind each other: so
    // at a quiet moment, not at any instant.)
    expect(await rt.runUntil(() => environments.concurrency === 0, 600)).toBe(true);
    // The users' functions' cold starts are not counted as Switchyard's.
    expect([...environments.coldStartsBy.keys()].filter((f) => f.startsWith('hook:'))).toEqual([]);
  });

  const weightsMoved = (r: LocalRuntime) => {
    const t = findTarget(r.targets, 'edge-web');
    return r.account.elbv2.weightHistory
      .filter((h) => h.where === t.traffic.listenerRuleArn)
      .some((h) => (h.weights[t.traffic.targetGroups.green] ?? 0) > 0);
  };

  it('invokes each function in order with the release, judges what it answers, and records it → Promoted', async () => {
    const r = await world();
    const record = await release(r, 'edge-web', 'v2');
    expect(record.outcome, JSON.stringify(record.error)).toBe('Promoted');
    expect(record.hooks?.map((h) => [h.point, h.name, h.status, h.functionName])).toEqual([
      ['preTraffic', 'smoke', 'succeeded', 'edge-web-smoke'],
      ['preTraffic', 'load', 'succeeded', 'arn:aws:lambda:us-east-1:123456789012:function:edge-web-load'],
      ['postTraffic', 'verify', 'succeeded', 'edge-web-verify'],
    ]);
    const [smoke, load, verify] = record.hooks ?? [];
    // The load test's figures, judged against its thresholds (v2 answers as v1: p95 about 180 ms).
    expect(load?.figures?.rps).toBe(20);
    expect(load?.thresholds?.map((t) => [t.figure, t.passed])).toEqual([
      ['p95Ms', true],
      ['errorRate', true],
      ['rps', true],
    ]);
    expect(smoke?.logUrl).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fedge-web-smoke',
    );
    expect((load?.stoppedAt ?? 'z') <= firstWeightChange(record)).toBe(true);
    expect((verify?.startedAt ?? '') >= firstWeightChange(record)).toBe(true);
    // What each function was given: the release, the hook, the new revision and its own payload.
    const calls = r.account.hookFunctions.invocations;
    expect(calls.map((c) => c.functionName)).toEqual([
      'edge-web-smoke',
      'arn:aws:lambda:us-east-1:123456789012:function:edge-web-load',
      'edge-web-verify',
    ]);
    expect(calls[0]?.payload).toMatchObject({
      releaseId: record.releaseId,
      target: 'edge-web',
      hook: 'smoke',
      point: 'preTraffic',
      taskDefinitionArn: expect.stringMatching(/:task-definition\/edge-web:\d+$/),
      timeoutSeconds: 120,
      payload: { paths: ['/', '/health'] },
    });
    // No ECS task was started for them.
    expect(r.account.ecs.oneOff?.all() ?? []).toEqual([]);
  });

  it('a function that throws aborts before any weight moves, naming its error and its log', async () => {
    const r = await world({
      lambdaHooks: { 'edge-web-smoke': { error: 'AssertionError: GET / answered 500' } },
    });
    const record = await release(r, 'edge-web', 'v2');
    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Cause).toMatch(
      /^hook smoke \(Lambda function edge-web-smoke\) failed: AssertionError: GET \/ answered 500\. Log: https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-east-1#logsV2:log-groups\/log-group\/\$252Faws\$252Flambda\$252Fedge-web-smoke/,
    );
    expect(weightsMoved(r)).toBe(false);
    expect(r.account.hookFunctions.invocations.map((c) => c.functionName)).toEqual(['edge-web-smoke']);
  });

  it('a function that never returns fails at its own timeout; one that answers Failed fails with its reason', async () => {
    const hung = await world({ lambdaHooks: { 'edge-web-smoke': { hang: true } } });
    const record = await release(hung, 'edge-web', 'v2');
    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Cause).toMatch(
      /^hook smoke \(Lambda function edge-web-smoke\) did not return within its timeout of 120 s/,
    );
    // The hung function holds a concurrent execution until Lambda ends it, at 15 minutes at most.
    expect(hung.lambda.environments.concurrency).toBe(1);
    await hung.wait(900);
    expect(hung.lambda.environments.concurrency).toBe(0);
    await hung.dispose();
    rt = undefined;
    const failed = await world({
      lambdaHooks: {
        'edge-web-verify': {
          answer: { status: 'Failed', reason: 'orders table has 3 rows without a ledger entry' },
        },
      },
    });
    const after = await release(failed, 'edge-web', 'v2');
    // postTraffic: the weights go back to the warm old colour.
    expect(after.outcome).toBe('RolledBack');
    expect(after.error?.Cause).toMatch(
      /^hook verify \(Lambda function edge-web-verify\) answered Failed: orders table has 3 rows without a ledger entry/,
    );
    expect(liveWeights(failed, findTarget(failed.targets, 'edge-web'))).toMatchObject({
      blue: 100,
      green: 0,
    });
  });

  it('a load test answering a slow p95 fails its threshold; a function that is not deployed is named', async () => {
    const slow = await world({ latencyMs: { v2: 3500 } });
    const record = await release(slow, 'edge-web', 'v2');
    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Cause).toMatch(
      /hook load \(Lambda function .*edge-web-load\) p95Ms \d+ \(< 2000\) FAILED/,
    );
    await slow.dispose();
    rt = undefined;
    const missing = await LocalRuntime.start({ targetsFile }, (x) => {
      buildWorld(x.account, findTarget(x.targets, 'edge-web'), {
        liveTag: 'v1',
        targetGroup: FAST_TARGET_GROUPS,
      });
      x.account.hookFunctions.functions.delete('edge-web-load');
    });
    rt = missing;
    const none = await release(missing, 'edge-web', 'v2');
    expect(none.outcome).toBe('Aborted');
    expect(none.error?.Cause).toMatch(
      /hook load \(Lambda function .*edge-web-load\) could not be run to its end by Lambda \(Lambda\.ResourceNotFoundException: Function not found/,
    );
  });
});

describe('Lambda hooks: what the state machine cannot watch while a function runs', () => {
  const stopDuring = async (r: LocalRuntime, name: string, state: string) => {
    r.push(name, 'v2');
    const id = () => r.executions().find((e) => e.name.startsWith(`${name}-`))?.name ?? '';
    const inside = () =>
      r.executions().some((e) => e.name === id() && e.history.some((h) => h.state === state));
    expect(await r.runUntil(inside)).toBe(true);
    await r.wait(5);
    r.stopExecution(id());
    await r.settle();
    await r.wait(180);
    return r.release(id());
  };

  it('a breaking migration run by a function is on the record before it is invoked: a stop meanwhile holds traffic, as for a task', async () => {
    // Found by review: the record said nothing until the function returned, and the recovery put
    // the old version back on a schema it cannot use (Aborted, "green scaled to 0").
    const r = await world({ lambdaHooks: { 'billing-lam-migrate': { hang: true } } });
    const record = await stopDuring(r, 'billing-lam', 'InvokePreTrafficMigration');
    expect(record?.migrated).toBe('breaking');
    expect(record?.outcome).toBe('RollbackFailed');
  });

  it('an alarm that fires and clears while a postTraffic function runs still rolls back', async () => {
    // Found by review: only the alarms' state at the end was read, so a 20 s ALARM inside a 90 s
    // function was never seen (a task hook's wait sees it at once).
    const r = await world({ lambdaHooks: { 'edge-web-verify': { runSeconds: 90 } } });
    r.push('edge-web', 'v2');
    const id = () => r.executions().find((e) => e.name.startsWith('edge-web-'))?.name ?? '';
    const inside = () =>
      r
        .executions()
        .some((e) => e.name === id() && e.history.some((h) => h.state === 'InvokePostTrafficHook'));
    expect(await r.runUntil(inside)).toBe(true);
    await r.wait(10);
    r.account.cloudwatch.setState('edge-web-5xx', 'ALARM', 'a 5xx spike during the postTraffic check');
    await r.wait(20);
    r.account.cloudwatch.setState('edge-web-5xx', 'OK', 'recovered');
    await r.settle();
    const record = await r.release(id());
    expect(record?.outcome).toBe('RolledBack');
    expect(record?.error?.Error).toBe('AlarmTriggered');
    expect(record?.error?.Cause).toMatch(
      /^during postTraffic hook verify: alarm "edge-web-5xx" went to ALARM at \d{4}-\d\d-\d\dT/,
    );
  });
});

describe("Lambda hooks: an answer past Step Functions' 256 KiB", () => {
  it('fails the execution uncatchably, as AWS does (States.DataLimitExceeded), and the recovery closes the release', async () => {
    const r = await world({ lambdaHooks: { 'edge-web-smoke': { answer: { report: 'x'.repeat(300_000) } } } });
    r.push('edge-web', 'v2');
    await r.settle();
    await r.wait(180);
    const execution = r.executions().find((e) => e.name.startsWith('edge-web-'));
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error).toBe('States.DataLimitExceeded');
    const record = await r.release(execution?.name ?? '');
    // Nothing had shifted: the recovery ends it Aborted, the new colour cleaned up.
    expect(record?.outcome).toBe('Aborted');
    expect(liveWeights(r, findTarget(r.targets, 'edge-web'))).toMatchObject({ blue: 100, green: 0 });
  });
});

describe('preDeploy hooks (boot-api: a Lambda precheck, then an expand migration the new version needs at boot)', () => {
  const green = (r: LocalRuntime) =>
    [...r.account.ecs.services.values()].find((s) => s.name === 'boot-api-green');
  const calls = (r: LocalRuntime, call: string) => r.account.callLog.filter((c) => c.call === call).length;

  it("wait for the release's turn to register when the account's registrations are busy, then run on that revision → Promoted", async () => {
    const r = await world();
    // Fifteen registrations already scheduled (a rebuild under way): boot-api's turn is 15 s away,
    // 5 s past the ten a release may take at once.
    for (let i = 0; i < 15; i++) await r.store.nextTurn(REGISTRATIONS.item, Date.now(), 1000);
    const record = await release(r, 'boot-api', 'v2');

    expect(record.outcome).toBe('Promoted');
    // Validate took the release's turn and went on; RegisterRevision waited for that turn.
    const detail = (name: string) => record.phases.filter((p) => p.name === name).map((p) => p.detail);
    expect(detail('RegisterRevision')).toEqual([
      expect.stringMatching(/^waiting for its turn to register a task definition .*: at \S+Z$/),
      expect.stringMatching(/^registered \S+:2 for the preDeploy hooks/),
    ]);
    const execution = r.executions().find((e) => e.name === record.releaseId);
    const states = execution?.history.map((h) => h.state) ?? [];
    expect(states.filter((s) => s.endsWith('Turn'))).toEqual(['WaitForRevisionTurn']);
    // The hooks ran the revision registered after the wait, and the deploy rolled out that one.
    expect(calls(r, 'ECS.RegisterTaskDefinition')).toBe(1);
    const task = r.account.ecs.oneOff?.all().find((t) => t.command.join(' ') === 'python manage.py migrate');
    expect(task?.taskDefinitionArn).toBe(record.revisionArn);
    expect(record.taskDefinitionArn).toBe(record.revisionArn);
  });

  it('run after the snapshot, on the registered revision, and the new colour starts only once they ended → Promoted', async () => {
    const r = await world();
    const record = await release(r, 'boot-api', 'v2');

    expect(record.outcome).toBe('Promoted');
    expect(record.hooks?.map((h) => [h.point, h.name, h.status])).toEqual([
      ['preDeploy', 'precheck', 'succeeded'],
      ['preDeploy', 'migrate', 'succeeded'],
      ['preTraffic', 'smoke', 'succeeded'],
    ]);
    const [precheck, migrate] = record.hooks ?? [];
    const phase = (name: string) => record.phases.find((p) => p.name === name);
    // The snapshot was available before the first hook; one snapshot, not one per step.
    expect((phase('WaitForSnapshot')?.endedAt ?? 'z') <= (precheck?.startedAt ?? '')).toBe(true);
    expect(calls(r, 'RDS.CreateDBSnapshot')).toBe(1);
    expect(record.phases.filter((p) => p.name === 'BackupDatabase')).toHaveLength(1);
    // The migration ran the release's revision, registered once, and the deploy rolled out that one.
    const task = r.account.ecs.oneOff?.all().find((t) => t.command.join(' ') === 'python manage.py migrate');
    expect(record.revisionArn).toMatch(/task-definition\/boot-api:2$/);
    expect(task?.taskDefinitionArn).toBe(record.revisionArn);
    expect(record.taskDefinitionArn).toBe(record.revisionArn);
    expect(calls(r, 'ECS.RegisterTaskDefinition')).toBe(1);
    // Nothing of the new version served, or even started, before the migration ended.
    const stoppedAt = Date.parse(migrate?.stoppedAt ?? '');
    expect((migrate?.stoppedAt ?? 'z') <= (phase('DeployInactiveColour')?.startedAt ?? '')).toBe(true);
    const service = green(r);
    const created = [...(service?.tasks ?? []), ...(service?.stopped ?? [])]
      .filter((t) => t.taskDefinitionArn === record.revisionArn)
      .map((t) => t.createdAt.getTime());
    expect(created.length).toBeGreaterThan(0);
    expect(Math.min(...created)).toBeGreaterThanOrEqual(stoppedAt);
    expect(record.migrated).toBe('expand');
  });

  it('a failing migration aborts with nothing deployed: the new colour never started, nothing shifted, the snapshot kept', async () => {
    const r = await world({ tasks: { 'python manage.py migrate': { exitCode: 2 } } });
    const target = findTarget(r.targets, 'boot-api');
    const before = green(r)?.deployments.map((d) => d.taskDefinition);
    const record = await release(r, 'boot-api', 'v2');

    expect(record.outcome).toBe('Aborted');
    expect(record.error?.Error).toBe('HookFailed');
    expect(record.error?.Cause).toMatch(/^hook migrate failed: its container exited 2/);
    expect(record.hooks?.map((h) => [h.point, h.name, h.status])).toEqual([
      ['preDeploy', 'precheck', 'succeeded'],
      ['preDeploy', 'migrate', 'failed'],
    ]);
    expect(record.phases.some((p) => p.name === 'DeployInactiveColour')).toBe(false);
    // The idle colour was never pointed at the revision, and no task of it ran.
    expect(green(r)?.deployments.map((d) => d.taskDefinition)).toEqual(before);
    expect(green(r)?.tasks.filter((t) => t.taskDefinitionArn === record.revisionArn)).toEqual([]);
    expect(liveWeights(r, target)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(r, target)).toEqual({ blue: 4, green: 0 });
    expect(r.account.rds.snapshots.get(record.snapshotId as string)?.status).toBe('available');
    // The migration started, so the schema may have changed: the record says what the old version makes of it.
    expect(record.migrated).toBe('expand');
  });

  it('a failing Lambda precheck aborts before the migration runs', async () => {
    const r = await world({ lambdaHooks: { 'boot-api-precheck': { error: 'Error: replica lag 90 s' } } });
    const record = await release(r, 'boot-api', 'v2');

    expect(record.outcome).toBe('Aborted');
    expect(record.hooks?.map((h) => [h.name, h.status])).toEqual([['precheck', 'failed']]);
    expect(r.account.ecs.oneOff?.all() ?? []).toEqual([]);
    expect(record.migrated).toBeUndefined();
    expect(record.phases.some((p) => p.name === 'DeployInactiveColour')).toBe(false);
  });
});

describe('switchyard plan with preDeploy hooks', () => {
  it('lists the snapshot and the registration, then the hooks, then the deploy (without a second snapshot)', async () => {
    const { planRelease } = await import('../../cli/plan.ts');
    const { backendOf } = await import('../support/cli-backend.ts');
    const r = await world();
    r.account.ecr.push('boot-api', 'v2', { silent: true });
    const target = findTarget(r.targets, 'boot-api');
    const lines: string[] = [];
    const result = await planRelease(
      await backendOf(r, 'local'),
      { line: (l) => lines.push(l) },
      { target, tag: 'v2', strategy: target.traffic.strategy, by: 'alice@example.com' },
    );
    const steps = (result.json as { steps: { step: string; what: string }[] }).steps;
    expect(steps.slice(0, 5).map((s) => s.step)).toEqual([
      'AcquireLock, Validate',
      'RegisterRevision ∥ BackupDatabase',
      'PreDeployHooks',
      'PreDeployHooks',
      'DeployInactiveColour',
    ]);
    expect(steps[3]?.what).toContain(
      'run `python manage.py migrate` as a one-off task of the new revision (registered, not yet deployed)',
    );
    expect(steps[3]?.what).toContain(
      'expand migration: a rollback needs no restore; a failure aborts with nothing deployed',
    );
    expect(steps[4]?.what).not.toContain('snapshot');
  });
});

describe('preDeploy hooks: the revision they run is the one deployed', () => {
  it('two overlapping RegisterRevision invocations (a retry while the first still runs) answer one revision, the one the deploy rolls out (found by review)', async () => {
    rt = await LocalRuntime.start({ targetsFile, automation: false }, (x) => {
      for (const t of x.targets.targets)
        buildWorld(x.account, t, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
    });
    const r = rt;
    const { releaseDeps } = await import('../../functions/shared/release-deps.ts');
    const { run: acquireLock } = await import('../../functions/acquire-lock/run.ts');
    const { run: validate } = await import('../../functions/validate/run.ts');
    const { run: registerRevision } = await import('../../functions/register-revision/run.ts');
    const { releaseRevision } = await import('../../functions/shared/revision.ts');
    const deps = releaseDeps(r.targets, r.store, r.tables.approvals);
    const releaseId = 'boot-api-race';
    const { digest } = r.account.ecr.push('boot-api', 'v2', { silent: true });
    const image = { repository: 'boot-api', tag: 'v2', digest };
    await r.until(
      acquireLock(
        {
          kind: 'release',
          ifRunning: 'wait',
          releaseId,
          target: 'boot-api',
          image,
          trigger: { source: 'ecr-push', eventId: 'e-1', at: '2026-01-05T09:00:00Z' },
          executionArn: `arn:exec:${releaseId}`,
          taskToken: 't',
        } as never,
        deps,
      ),
    );
    const plan = await r.until(validate({ releaseId, target: 'boot-api', image } as never, deps));
    const input = { releaseId, target: 'boot-api', plan } as never;
    const [a, b] = await r.until(Promise.all([registerRevision(input, deps), registerRevision(input, deps)]));
    const record = await deps.store.getRelease(releaseId);
    const deployed = await r.until(releaseRevision(input, deps, record as ReleaseRecord));
    expect(a).toMatchObject({ taskDefinitionArn: deployed });
    expect(b).toMatchObject({ taskDefinitionArn: deployed });
    expect(record?.revisionArn).toBe(deployed);
  });

  it('a release carrying its own task definition: the preDeploy hooks run that definition, and it is what is deployed', async () => {
    const { parseTaskDefinition } = await import('../../functions/shared/task-definition.ts');
    const r = await world();
    const [arn] = [...r.account.ecs.taskDefinitions.keys()].filter((k) => k.includes('/boot-api:'));
    const described = r.account.ecs.DescribeTaskDefinition({ taskDefinition: arn as string });
    const document = structuredClone(described) as unknown as { taskDefinition: Record<string, unknown> };
    document.taskDefinition.memory = '2048';
    const td = parseTaskDefinition(document, 'app', 'test file');
    r.account.ecr.push('boot-api', 'v2', { silent: true });
    const id = r.startRelease({ target: 'boot-api', tag: 'v2', by: 'ops@example.com', taskDefinition: td });
    await r.settle();
    const record = await r.release(id);

    expect(record?.outcome).toBe('Promoted');
    const migrate = r.account.ecs.oneOff
      ?.all()
      .find((t) => t.command.join(' ') === 'python manage.py migrate');
    expect(migrate?.taskDefinitionArn).toBe(record?.taskDefinitionArn);
    expect(r.account.ecs.taskDefinitions.get(migrate?.taskDefinitionArn ?? '')?.memory).toBe('2048');
  });
});

describe('a breaking migration and the recovery', () => {
  it('a release stopped after it promoted (old colour scaled down and marked) is Promoted, not told to restore the database (found by review)', async () => {
    const r = await world();
    const target = findTarget(r.targets, 'billing-api');
    r.push('billing-api', 'v2');
    const id = () => r.executions().find((e) => e.name.startsWith('billing-api-'))?.name ?? '';
    expect(
      await r.runUntil(
        async () => id() !== '' && (await r.release(id()))?.oldColourScaledDownAt !== undefined,
      ),
    ).toBe(true);
    r.stopExecution(id());
    await r.settle();
    await r.wait(180);
    const record = await r.release(id());
    expect(record?.migrated).toBe('breaking');
    expect(record?.outcome, record?.error?.Cause).toBe('Promoted');
    expect(liveWeights(r, target)).toEqual({ blue: 0, green: 100 });
    const notices = r.account.sns.published.map((m) => m.message ?? '').join('\n');
    expect(notices).not.toMatch(/restore the database/);
  });
});

describe('never two migrations at once', () => {
  /** A hook task of an older release of `target` (as RunHook starts one) appears in the cluster now; its ARN. */
  const earlierHookTask = (r: LocalRuntime, target: string, command: string[]): string => {
    const [definition] = [...r.account.ecs.taskDefinitions.keys()].filter((k) => k.includes(`/${target}:`));
    const { tasks } = r.account.ecs.RunTask({
      cluster: 'prod',
      taskDefinition: definition as string,
      startedBy: 'switchyard',
      group: `switchyard:${target}`,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60001'] } },
      overrides: {
        containerOverrides: [
          {
            name: 'app',
            command,
            environment: [{ name: 'SWITCHYARD_RELEASE_ID', value: `${target}-000000000000` }],
          },
        ],
      },
    });
    return tasks?.[0]?.taskArn ?? '';
  };
  /** boot-api v2, stopped while its migration (which hangs: a long one) runs; the recovery leaves it to finish. */
  const stoppedDuringMigration = async (faults: FaultPlan = {}) => {
    const r = await world({ ...faults, tasks: { 'python manage.py migrate': { hang: true, times: 1 } } });
    const migrations = () =>
      r.account.ecs.oneOff?.all().filter((t) => t.command.join(' ') === 'python manage.py migrate') ?? [];
    r.push('boot-api', 'v2');
    expect(await r.runUntil(() => migrations()[0]?.lastStatus === 'RUNNING')).toBe(true);
    const first = r.executions().find((e) => e.name.startsWith('boot-api-'))?.name ?? '';
    r.stopExecution(first);
    await r.wait(180);
    expect((await r.release(first))?.outcome).toBe('Aborted');
    // Left running (stopping a migration half way is worse), and the target's lock freed.
    expect(migrations()[0]?.lastStatus).toBe('RUNNING');
    const second = () =>
      r.executions().find((e) => e.name.startsWith('boot-api-') && e.name !== first)?.name ?? '';
    return { r, migrations, first, second };
  };
  const snapshots = (r: LocalRuntime, since: number) =>
    r.account.callLog.filter((c) => c.at >= since && c.call === 'RDS.CreateDBSnapshot');

  it('the next release waits, before its snapshot, until the earlier migration stopped; then snapshots, migrates and is Promoted (found by review)', async () => {
    const { r, migrations, second } = await stoppedDuringMigration();
    const pushed = Date.now();
    r.push('boot-api', 'v3');
    // Validate asked ECS (ListTasks by startedBy) and found the earlier migration: nothing started.
    const asked = () =>
      r.account.callLog.filter((c) => c.by === 'validate' && c.call === 'ECS.ListTasks').length;
    expect(await r.runUntil(() => asked() >= 1, 3600)).toBe(true);
    // Waiting, a minute at a time: no snapshot of the half-migrated database, no second migration.
    await r.wait(600);
    expect(asked()).toBeGreaterThanOrEqual(10);
    expect(snapshots(r, pushed)).toEqual([]);
    expect(migrations()).toHaveLength(1);
    const old = migrations()[0];
    r.account.ecs.StopTask({ cluster: 'prod', task: old?.arn ?? '', reason: 'the DBA stopped it' });
    await r.settle();
    const record = await r.release(second());

    expect(record?.outcome).toBe('Promoted');
    const stoppedAt = migrations()[0]?.stoppedAt ?? Number.POSITIVE_INFINITY;
    expect(snapshots(r, pushed)).toHaveLength(1);
    expect(snapshots(r, pushed)[0]?.at).toBeGreaterThanOrEqual(stoppedAt);
    const [, next] = migrations();
    expect(next?.createdAt).toBeGreaterThanOrEqual(stoppedAt);
    // Each hook task carries its release's id: how another release's is told from this one's.
    expect(next?.environment).toMatchObject({ SWITCHYARD_RELEASE_ID: second() });
  });

  it('Validate reads the earlier hook tasks beside its other reads, and still judges them last: a firing alarm aborts at once, not after an hour of waiting', async () => {
    const r = await world();
    const record = await release(r, 'boot-api', 'v2');
    expect(record.outcome).toBe('Promoted');
    // The ListTasks of hook tasks goes with the service read, not after every other verdict (it
    // was on the way to the snapshot: 0.06-0.12 s).
    const validate = r.account.callLog.filter((c) => c.by === 'validate');
    const listed = validate.find((c) => c.call === 'ECS.ListTasks');
    const described = validate.find((c) => c.call === 'ECS.DescribeServices');
    expect(listed?.at).toBeDefined();
    expect(listed?.at).toBe(described?.at);

    // An earlier migration still running and the target's alarm firing: the alarm is the verdict
    // (judged before the hooks, as before), so the release ends now instead of waiting for the task.
    earlierHookTask(r, 'boot-api', ['python', 'manage.py', 'migrate']);
    r.account.cloudwatch.setState('boot-api-5xx', 'ALARM', 'Threshold Crossed: 5xx 7%');
    const pushed = Date.now();
    const refused = await release(r, 'boot-api', 'v3');
    expect(refused.outcome).toBe('Aborted');
    expect(refused.error).toMatchObject({
      Error: 'AlarmTriggered',
      Cause: expect.stringMatching(/boot-api-5xx/),
    });
    expect(Date.parse(refused.updatedAt) - pushed).toBeLessThan(60_000);
    expect(snapshots(r, pushed)).toEqual([]);
    // Read beside the others, but nothing written for it on a release refused for something else.
    expect(refused.awaitedHookTasks).toBeUndefined();
  });

  it('a migration whose start was never recorded (the record write kept failing) is still seen: ECS is asked, not the record (found by review)', async () => {
    const r = await world({
      tasks: { 'python manage.py migrate': { hang: true, times: 1 } },
      api: [
        {
          service: 'DynamoDB',
          operation: 'UpdateItem',
          state: 'RunPreDeployHook',
          error: 'InternalServerError',
          status: 500,
          times: 1000,
        },
      ],
    });
    const migrations = () =>
      r.account.ecs.oneOff?.all().filter((t) => t.command.join(' ') === 'python manage.py migrate') ?? [];
    r.push('boot-api', 'v2');
    await r.settle();
    const first = r.executions()[0]?.name ?? '';
    const a = await r.release(first);
    expect(a?.outcome).toBe('Aborted');
    expect(a?.migrated).toBeUndefined();
    expect(migrations().map((t) => t.lastStatus)).toEqual(['RUNNING']);
    r.faults.arm({});
    (r.faults as unknown as { api: { times: number }[] }).api.forEach((f) => {
      f.times = 0;
    });
    r.push('boot-api', 'v3');
    await r.wait(1800);
    expect(migrations().filter((t) => t.lastStatus !== 'STOPPED')).toHaveLength(1);
    // The second release never started its own (third review: counting those still running passed
    // even without any check, once the second one had finished).
    expect(migrations()).toHaveLength(1);
  });

  it("one that starts after this release's Validate passed (a stopped release's RunTask landing late) stops its RunHook instead (found by review)", async () => {
    const r = await world({ tasks: { 'python manage.py migrate': { hang: true, times: 1 } } });
    const migrations = () =>
      r.account.ecs.oneOff?.all().filter((t) => t.command.join(' ') === 'python manage.py migrate') ?? [];
    r.push('boot-api', 'v2');
    const id = () => r.executions().find((e) => e.name.startsWith('boot-api-'))?.name ?? '';
    const snapshotting = () =>
      r
        .executions()
        .some((e) => e.name === id() && e.history.some((h) => h.state === 'WaitForSnapshotBeforeHooks'));
    expect(await r.runUntil(snapshotting)).toBe(true);
    // Validate has passed: an older release's migration task appears in the cluster now.
    earlierHookTask(r, 'boot-api', ['python', 'manage.py', 'migrate']);
    const asked = () =>
      r.account.callLog.filter((c) => c.by === 'run-hook' && c.call === 'ECS.ListTasks').length;
    expect(await r.runUntil(() => asked() >= 3, 3600)).toBe(true);
    expect(migrations()).toHaveLength(1);
    const older = migrations()[0];
    r.account.ecs.StopTask({ cluster: 'prod', task: older?.arn ?? '', reason: 'the DBA stopped it' });
    await r.settle();

    expect((await r.release(id()))?.outcome).toBe('Promoted');
    const [, mine] = migrations();
    expect(mine?.createdAt).toBeGreaterThanOrEqual(migrations()[0]?.stoppedAt ?? Number.POSITIVE_INFINITY);
  });

  it('a rollback asked for while the next release waits stops it within a minute, not an hour', async () => {
    const { r, second } = await stoppedDuringMigration();
    r.push('boot-api', 'v3');
    const asked = () =>
      r.account.callLog.filter((c) => c.by === 'validate' && c.call === 'ECS.ListTasks').length;
    expect(await r.runUntil(() => asked() >= 2, 3600)).toBe(true);
    const requested = Date.now();
    r.startRollback({ target: 'boot-api', reason: 'ops: back out the whole thing' });
    await r.settle();
    const record = await r.release(second());

    // The waiting release is parked on no wait, so the rollback stops its execution (acquire-lock's
    // requestAbort) and the recovery ends it: nothing had been snapshotted or deployed to undo.
    expect(record?.outcome).toBe('Aborted');
    expect(Date.parse(record?.endedAt ?? '') - requested).toBeLessThan(120_000);
    expect(r.account.callLog.filter((c) => c.at >= requested && c.call === 'RDS.CreateDBSnapshot')).toEqual(
      [],
    );
  });

  it('gives up after an hour: Aborted, naming the task to stop, nothing snapshotted or deployed', async () => {
    const { r, migrations, second } = await stoppedDuringMigration();
    const pushed = Date.now();
    r.push('boot-api', 'v3');
    await r.settle();
    const record = await r.release(second());

    expect(record?.outcome).toBe('Aborted');
    expect(record?.error?.Error).toBe('EarlierHookRunning');
    const id = migrations()[0]?.arn.split('/').at(-1) ?? '?';
    expect(record?.error?.Cause).toContain(`aws ecs stop-task --cluster prod --task ${id}`);
    expect(snapshots(r, pushed)).toEqual([]);
    expect(r.account.callLog.filter((c) => c.at >= pushed && c.call === 'ECS.UpdateService')).toEqual([]);
    expect(migrations()).toHaveLength(1);
  });
  describe('a Lambda migration (Lambda lists no running invocation: a claim written before the invoke)', () => {
    const invoked = (r: LocalRuntime) =>
      r.account.hookFunctions.invocations.filter((c) => c.functionName === 'notes-lam-migrate');
    /** Validate's invocations so far (one per release, or one a minute while it waits). */
    // The Validate state's invocations (the reconciler's warm-ups of validate are not validations).
    const validations = (r: LocalRuntime) => r.lambda.invocationsByState.get('Validate') ?? 0;
    /** notes-lam's release other than `but` (a rollback's execution is named notes-lam-rollback-…). */
    const notes = (r: LocalRuntime, but = '') =>
      r
        .executions()
        .find((e) => e.name.startsWith('notes-lam-') && !e.name.includes('-rollback-') && e.name !== but)
        ?.name ?? '';

    it('that its stopped release left running holds the next release, before its snapshot, until Lambda would have ended it: 900 s after the invoke (found by review)', async () => {
      // Runs 5 minutes; the release is stopped after one. Step Functions stops waiting, the function runs on.
      const r = await world({ lambdaHooks: { 'notes-lam-migrate': { runSeconds: 300 } } });
      r.push('notes-lam', 'v2');
      expect(await r.runUntil(() => invoked(r).length === 1)).toBe(true);
      const first = notes(r);
      const invokedAt = invoked(r)[0]?.at.getTime() ?? 0;
      await r.wait(60);
      r.stopExecution(first);
      await r.wait(180);
      expect((await r.release(first))?.outcome).toBeDefined();
      const pushed = Date.now();
      const validatedBefore = validations(r);
      r.push('notes-lam', 'v3');
      await r.settle();
      const second = await r.release(notes(r, first));

      expect(second?.outcome).toBe('Promoted');
      // Before: the next release snapshotted the half-migrated database and invoked its own
      // migration beside the first, a few minutes after the push.
      const [snapshot] = snapshots(r, pushed);
      expect(snapshot?.at).toBeGreaterThanOrEqual(invokedAt + 900_000);
      expect(invoked(r)).toHaveLength(2);
      expect(invoked(r)[1]?.at.getTime()).toBeGreaterThanOrEqual(invokedAt + 900_000);
      // Validate asked again each minute (EarlierHookRunning) before it let the release on.
      expect(validations(r) - validatedBefore).toBeGreaterThanOrEqual(10);
    });

    it('that answered ends its claim: the next release does not wait', async () => {
      const r = await world();
      r.push('notes-lam', 'v2');
      await r.settle();
      const first = notes(r);
      expect((await r.release(first))?.outcome).toBe('Promoted');
      const validatedBefore = validations(r);
      r.push('notes-lam', 'v3');
      await r.settle();
      expect((await r.release(notes(r, first)))?.outcome).toBe('Promoted');
      expect(invoked(r)).toHaveLength(2);
      // Validate let it on at once, and the claim ended when the function answered.
      expect(validations(r) - validatedBefore).toBe(1);
      const claim = await r.until(r.store.lambdaMigration('notes-lam'));
      expect(Date.parse(claim?.runsUntil ?? '')).toBeLessThan(Date.parse(claim?.startedAt ?? '') + 60_000);
    });

    it("claimed by another release after this one's Validate passed: StartLambdaHook waits for it instead (found by review)", async () => {
      const r = await world();
      r.push('notes-lam', 'v2');
      const inside = () => r.executions().some((e) => e.history.some((h) => h.state === 'CheckHealth'));
      expect(await r.runUntil(inside)).toBe(true);
      // An older release's function, invoked now, that will not answer.
      const claimedAt = Date.now();
      await r.until(
        r.store.claimLambdaMigration({
          target: 'notes-lam',
          owner: 'notes-lam-000000000000',
          hook: 'migrate',
          functionName: 'notes-lam-migrate',
          startedAt: new Date(claimedAt).toISOString(),
          runsUntil: new Date(claimedAt + 900_000).toISOString(),
        }),
      );
      await r.settle();
      const record = await r.release(notes(r));

      expect(record?.outcome).toBe('Promoted');
      expect(invoked(r)).toHaveLength(1);
      expect(invoked(r)[0]?.at.getTime()).toBeGreaterThanOrEqual(claimedAt + 900_000);
    });

    /** The simulated Lambda integration for notes-lam-migrate, call by call: `plan(n, run)` answers call n. */
    const integration = (
      r: LocalRuntime,
      plan: (n: number, run: () => Promise<unknown>) => Promise<unknown>,
    ) => {
      const functions = r.account.hookFunctions;
      const invoke = functions.invoke.bind(functions);
      let n = 0;
      functions.invoke = (async (name: string, payload: Record<string, unknown>) => {
        if (!name.includes('notes-lam-migrate')) return invoke(name, payload);
        n++;
        return plan(n, () => invoke(name, payload));
      }) as typeof functions.invoke;
    };
    const lambdaError = (name: string) => Object.assign(new Error(name), { name });
    /** The function starts and runs on for 870 s; after `seconds` the integration reports `error`. */
    const startsThenFails = async (run: () => Promise<unknown>, seconds: number, error: string) => {
      run()
        .then(() => new Promise((resolve) => setTimeout(resolve, 870_000)))
        .catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      throw lambdaError(error);
    };
    const snapshotAfter = (r: LocalRuntime, at: number) =>
      r.account.callLog.find((c) => c.at >= at && c.call === 'RDS.CreateDBSnapshot')?.at ??
      Number.POSITIVE_INFINITY;

    /** v3, pushed now, is Promoted, and snapshots and migrates only once the 870 s function of `first` ended. */
    const nextWaitsForTheFunction = async (r: LocalRuntime, first: string) => {
      const started = invoked(r)[0]?.at.getTime() ?? 0;
      r.push('notes-lam', 'v3');
      await r.settle();
      expect((await r.release(notes(r, first)))?.outcome).toBe('Promoted');
      expect(snapshotAfter(r, started)).toBeGreaterThanOrEqual(started + 870_000);
      expect(invoked(r)[1]?.at.getTime()).toBeGreaterThanOrEqual(started + 870_000);
    };

    it('started late, after the Invoke state retried throttling for two minutes: the claim still outlasts it (found by review)', async () => {
      const r = await world();
      // Lambda throttles six times (Step Functions waits 2 + 4 + … + 64 s), then runs the function,
      // for almost Lambda's 900 s.
      integration(r, async (n, run) => {
        if (n <= 6) throw lambdaError('Lambda.TooManyRequestsException');
        const answer = await run();
        if (n === 7) await new Promise((resolve) => setTimeout(resolve, 870_000));
        return answer;
      });
      r.push('notes-lam', 'v2');
      expect(await r.runUntil(() => invoked(r).length === 1)).toBe(true);
      const first = notes(r);
      await r.wait(60);
      r.stopExecution(first);
      await r.wait(180);
      // Before: the claim ran out 900 s after StartLambdaHook, 2 minutes before the function ended.
      await nextWaitsForTheFunction(r, first);
    });

    it('whose answer Step Functions lost (Lambda.SdkClientException) may still run: the claim is kept (found by review)', async () => {
      const r = await world();
      // The last attempt reaches the function, which runs on for almost 900 s; the integration
      // reports a client error after 5 s.
      integration(r, async (n, run) => {
        if (n <= 6) throw lambdaError('Lambda.TooManyRequestsException');
        if (n === 7) return startsThenFails(run, 5, 'Lambda.SdkClientException');
        return run();
      });
      r.push('notes-lam', 'v2');
      await r.settle();
      const first = notes(r);
      expect((await r.release(first))?.outcome).toBe('Aborted');
      // Before: RecordLambdaHook ended the claim, and the next release migrated beside the function.
      await nextWaitsForTheFunction(r, first);
    });

    it('is invoked once: after an error that may come from a running function, never again (found by review)', async () => {
      const r = await world();
      // The first call starts the function, which runs on; the integration reports a service error.
      integration(r, async (n, run) => {
        if (n === 1) return startsThenFails(run, 300, 'Lambda.ServiceException');
        return run();
      });
      r.push('notes-lam', 'v2');
      await r.settle();
      const record = await r.release(notes(r));

      // Before: Step Functions invoked it again 2 s later, two migrations at once in one release.
      expect(invoked(r)).toHaveLength(1);
      expect(record?.outcome).toBe('Aborted');
      expect(record?.error?.Cause).toMatch(
        /could not be run to its end by Lambda \(Lambda\.ServiceException/,
      );
      // Its claim stays: the function may still run.
      const claim = await r.until(r.store.lambdaMigration('notes-lam'));
      expect(Date.parse(claim?.runsUntil ?? '')).toBeGreaterThan(Date.now());
    });

    it('a rollback asked for while StartLambdaHook ran: nothing invoked, and no claim left to hold the next release (found by review)', async () => {
      const r = await world({
        operator: [{ state: 'StartPreTrafficLambdaHook', action: 'rollback', times: 1 }],
      });
      r.push('notes-lam', 'v2');
      // The rollback's functions warm (as when another rollback ran minutes before), so its halt
      // lands while StartLambdaHook runs, between its two reads. Cold, it lands after the invoke.
      const checked = () => r.executions().some((e) => e.history.some((h) => h.state === 'CheckHealth'));
      expect(await r.runUntil(checked)).toBe(true);
      for (const folder of ['acquire-lock', 'plan-rollback']) r.lambda.environments.prewarm(folder);
      await r.settle();
      await r.wait(120);
      const first = notes(r);
      expect((await r.release(first))?.outcome).toBe('Aborted');
      expect(invoked(r)).toHaveLength(0);
      const validatedBefore = validations(r);
      r.push('notes-lam', 'v3');
      await r.settle();

      expect((await r.release(notes(r, first)))?.outcome).toBe('Promoted');
      // Before: 14 tries of Validate, a quarter of an hour, for a function that never ran.
      expect(validations(r) - validatedBefore).toBe(1);
    });

    it("waits, like a task migration, for an earlier release's hook task that started after Validate passed", async () => {
      const r = await world({ tasks: { 'flask db upgrade': { hang: true } } });
      r.push('notes-lam', 'v2');
      const inside = () => r.executions().some((e) => e.history.some((h) => h.state === 'CheckHealth'));
      expect(await r.runUntil(inside)).toBe(true);
      const task = earlierHookTask(r, 'notes-lam', ['flask', 'db', 'upgrade']);
      const asked = () =>
        r.account.callLog.filter((c) => c.by === 'start-lambda-hook' && c.call === 'ECS.DescribeTasks')
          .length;
      expect(await r.runUntil(() => asked() >= 3, 3600)).toBe(true);
      expect(invoked(r)).toHaveLength(0);
      const stoppedAt = Date.now();
      r.account.ecs.StopTask({
        cluster: 'prod',
        task,
        reason: 'the DBA stopped it',
      });
      await r.settle();

      expect((await r.release(notes(r)))?.outcome).toBe('Promoted');
      expect(invoked(r)[0]?.at.getTime()).toBeGreaterThanOrEqual(stoppedAt);
    });
  });
});

describe('a breaking migration stopped before any traffic moved (review of fb51c45)', () => {
  it('the recovery says to restore the database (there is no rollback to run), and a forced rollback says why it has nothing to do', async () => {
    const rt = await world();
    const target = findTarget(rt.targets, 'billing-api');
    rt.push('billing-api', 'v2');
    const id = () => rt.executions().find((e) => e.name.startsWith('billing-api-'))?.name ?? '';
    expect(
      await rt.runUntil(async () => id() !== '' && (await rt.release(id()))?.migrated === 'breaking', 3600),
    ).toBe(true);
    expect(liveWeights(rt, target)).toEqual({ blue: 100, green: 0 });
    rt.stopExecution(id());
    await rt.settle();
    await rt.wait(180);
    const record = await rt.release(id());
    expect(record?.outcome).toBe('RollbackFailed');
    // Before: "restore the database …, then switchyard rollback --target billing-api --force", which then had nothing to do.
    expect(record?.error?.Cause).toContain(
      'a breaking migration ran and no traffic is on green: blue (the old version) takes all of it, on the new schema; restore the database from',
    );
    expect(record?.error?.Cause).not.toContain('--force');
    expect(record?.error?.Cause).toContain('(there is no rollback to run)');
    const forced = rt.startRollback({ target: 'billing-api', reason: 'restored the snapshot', force: true });
    await rt.settle();
    expect(await rt.release(forced)).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'NothingToRollBack',
        Cause: `traffic is on blue, not on green: ${id()} ended RollbackFailed before any traffic moved to it; nothing of it to roll back`,
      },
    });
    expect(liveWeights(rt, target)).toEqual({ blue: 100, green: 0 });
  });
});
