/**
 * Fault matrix, hooks: ledger-api (test/fixtures/targets-hooks.json) runs an expand migration and a
 * smoke test before traffic moves and a check after 100%. Every hook state × every step fault must
 * still end Promoted; the hooks' own faults (exit non-zero, hang, fail to start) end Aborted before
 * traffic moves and RolledBack after; lost, duplicated and late Task State Change events cost at
 * most a reconciler period; a rollback or a stop at any hook state leaves nothing split or blocked.
 * I1-I7 hold throughout.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTarget } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS } from '../../local/world.ts';
import {
  eventFaults,
  hookStates,
  invokeStates,
  lambdaHookStates,
  preDeployStates,
  runIn,
  stepFaults,
} from '../support/fault-matrix.ts';
import { RECOVERY_BOUND_SECONDS, recoveryBroken } from '../support/invariants.ts';

const targetsFile = fileURLToPath(new URL('../fixtures/targets-hooks.json', import.meta.url));
const releaseId = releaseIdFor('ledger-api', EcrModel.digestOf('ledger-api', 'v2'));

const hookWorld = async (faults?: FaultPlan) => {
  const rt = await LocalRuntime.start({ targetsFile, faults }, (r) => {
    for (const t of r.targets.targets)
      buildWorld(r.account, t, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
  });
  return { rt, target: findTarget(rt.targets, 'ledger-api') };
};

/** One release of ledger-api (or `target`) v2 with `faults`, checked: its outcome, and I1-I7 after the world drains. */
const hookCase = async (name: string, faults: FaultPlan, expected: string, target = 'ledger-api') => {
  const world = await hookWorld(faults);
  const id = target === 'ledger-api' ? releaseId : releaseIdFor(target, EcrModel.digestOf(target, 'v2'));
  return runIn(name, { ...world, target: findTarget(world.rt.targets, target) }, expected, async () => {
    world.rt.push(target, 'v2');
    await world.rt.settle();
    return { ids: [id], outcome: (await world.rt.release(id))?.outcome };
  });
};

/**
 * Which target reaches a state: boot-api runs its hooks before the deploy (a Lambda precheck, then a
 * migration task); edge-web's hooks are Lambda functions; ledger-api's are ECS tasks.
 */
const targetOf = (state: string) =>
  /Migration$/.test(state)
    ? 'notes-lam'
    : /PreDeploy|BeforeHooks|RegisterRevision/.test(state)
      ? 'boot-api'
      : /Lambda|Invoke/.test(state)
        ? 'edge-web'
        : 'ledger-api';

/** A hook task Switchyard leaves to finish when a release stops: a migration (stopping one half way is worse). */
const isMigration = (command: string[]) => command.includes('alembic') || command.includes('migrate');

/** edge-web: its hooks are Lambda functions the state machine invokes (boot-api's precheck too). */
describe('fault matrix: Lambda hook steps', () => {
  describe.each(lambdaHookStates)('%s', (state) => {
    it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('happy + %s', async (fault) => {
      const result = await hookCase(
        `Lambda hooks ${state} × ${fault}`,
        stepFaults[fault](state),
        'Promoted',
        targetOf(state),
      );
      expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe('Promoted');
    });
  });

  it.each([
    ['the smoke test throws', { 'edge-web-smoke': { error: 'Error: boom' } }, 'Aborted', 'edge-web'],
    ['the smoke test hangs past its timeout', { 'edge-web-smoke': { hang: true } }, 'Aborted', 'edge-web'],
    [
      'the postTraffic check throws',
      { 'edge-web-verify': { error: 'Error: boom' } },
      'RolledBack',
      'edge-web',
    ],
    [
      'the postTraffic check hangs past its timeout',
      { 'edge-web-verify': { hang: true } },
      'RolledBack',
      'edge-web',
    ],
    [
      'the preDeploy precheck throws',
      { 'boot-api-precheck': { error: 'Error: boom' } },
      'Aborted',
      'boot-api',
    ],
    [
      'the preDeploy precheck hangs past its timeout',
      { 'boot-api-precheck': { hang: true } },
      'Aborted',
      'boot-api',
    ],
  ] as const)('%s → %s', async (name, lambdaHooks, expected, target) => {
    const result = await hookCase(`Lambda hooks × ${name}`, { lambdaHooks }, expected, target);
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe(expected);
  });
});

describe('fault matrix: hook steps', () => {
  describe.each([...preDeployStates, ...hookStates])('%s', (state) => {
    it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('happy + %s', async (fault) => {
      const result = await hookCase(
        `hooks ${state} × ${fault}`,
        stepFaults[fault](state),
        'Promoted',
        targetOf(state),
      );
      expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe('Promoted');
    });
  });

  const hookFaults = {
    'exits non-zero': { exitCode: 2 },
    hangs: { hang: true },
    'fails to start': { failToStart: 'CannotPullContainerError: access denied' },
  } as const;
  describe.each([
    ['migrate (preDeploy)', 'python manage.py migrate', 'Aborted', 'boot-api'],
    ['migrate (preTraffic)', 'alembic upgrade head', 'Aborted', 'ledger-api'],
    ['verify (postTraffic)', 'scripts/validate_migration.py', 'RolledBack', 'ledger-api'],
  ])('hook %s', (_hook, command, expected, target) => {
    it.each(Object.keys(hookFaults) as (keyof typeof hookFaults)[])(`%s → ${expected}`, async (fault) => {
      const result = await hookCase(
        `hook ${command} ${fault}`,
        { tasks: { [command]: hookFaults[fault] } },
        expected,
        target,
      );
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe(expected);
    });
  });

  it.each(Object.keys(eventFaults) as (keyof typeof eventFaults)[])(
    'ECS Task State Change: %s',
    async (fault) => {
      const result = await hookCase(
        `hooks task events × ${fault}`,
        eventFaults[fault]('ECS Task State Change'),
        'Promoted',
      );
      expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe('Promoted');
    },
  );

  const idOf = (target: string) => releaseIdFor(target, EcrModel.digestOf(target, 'v2'));
  const withLambda = [...preDeployStates, ...hookStates, ...lambdaHookStates, ...invokeStates];

  it.each(withLambda)('a rollback requested at %s: the release stops, nothing left split', async (state) => {
    const target = targetOf(state);
    const releaseId = idOf(target);
    const base = await hookWorld();
    const world = { ...base, target: findTarget(base.rt.targets, target) };
    const entered = () =>
      world.rt.executions().some((e) => e.name === releaseId && e.history.some((h) => h.state === state));
    const result = await runIn(`hooks rollback requested at ${state}`, world, 'any', async () => {
      world.rt.push(target, 'v2');
      expect(await world.rt.runUntil(entered)).toBe(true);
      const rollbackId = world.rt.startRollback({ target, reason: `fault matrix: ${state}` });
      world.rt.faults.fired.push(`rollback requested at ${state}`);
      await world.rt.settle();
      const outcome = (await world.rt.release(releaseId))?.outcome;
      expect(['Aborted', 'RolledBack']).toContain(outcome);
      return { ids: [releaseId, rollbackId], outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    // No hook task is left running for a release that stopped (a migration may finish on its own).
    const running = world.rt.account.ecs.oneOff
      ?.all()
      .filter((t) => t.lastStatus !== 'STOPPED' && !isMigration(t.command));
    expect(running).toEqual([]);
  });

  it.each(withLambda)('stopped at %s: recovered within two reconciler periods', async (state) => {
    const target = targetOf(state);
    const releaseId = idOf(target);
    const base = await hookWorld();
    const world = { ...base, target: findTarget(base.rt.targets, target) };
    const entered = () =>
      world.rt.executions().some((e) => e.name === releaseId && e.history.some((h) => h.state === state));
    const result = await runIn(`hooks stopped at ${state}`, world, 'any', async () => {
      world.rt.push(target, 'v2');
      expect(await world.rt.runUntil(entered)).toBe(true);
      world.rt.stopExecution(releaseId);
      world.rt.faults.fired.push(`stopped at ${state}`);
      await world.rt.wait(RECOVERY_BOUND_SECONDS);
      expect(await recoveryBroken(world.rt, world.target, [releaseId])).toEqual([]);
      return { ids: [releaseId], outcome: (await world.rt.release(releaseId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    // Its hook tasks were stopped with it (a migration may finish on its own).
    const running = world.rt.account.ecs.oneOff
      ?.all()
      .filter((t) => t.lastStatus !== 'STOPPED' && !isMigration(t.command));
    expect(running).toEqual([]);
  });

  it('stopped during a hook with its status event lost: the reconciler recovers it and stops the hook task', async () => {
    // The smoke test would run until stopped: only the recovery ends it.
    const world = await hookWorld({
      events: [{ detailType: 'Step Functions Execution Status Change', action: 'drop', times: 100 }],
      tasks: { 'python -m smoke': { hang: true } },
    });
    const smokeRunning = () =>
      world.rt.account.ecs.oneOff
        ?.all()
        .some((t) => t.command.includes('smoke') && t.lastStatus === 'RUNNING') ?? false;
    const result = await runIn('hooks stopped during smoke, status event lost', world, 'any', async () => {
      world.rt.push('ledger-api', 'v2');
      expect(await world.rt.runUntil(smokeRunning)).toBe(true);
      world.rt.stopExecution(releaseId);
      world.rt.faults.fired.push('stopped during the smoke hook');
      await world.rt.wait(RECOVERY_BOUND_SECONDS);
      expect(await recoveryBroken(world.rt, world.target, [releaseId])).toEqual([]);
      return { ids: [releaseId], outcome: (await world.rt.release(releaseId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Aborted');
    const smoke = world.rt.account.ecs.oneOff?.all().find((t) => t.command.includes('smoke'));
    expect(smoke?.lastStatus).toBe('STOPPED');
    expect(world.rt.account.callLog.some((c) => c.by === 'reconciler' && c.call === 'ECS.StopTask')).toBe(
      true,
    );
  });

  it('stopped during a hook: its status event drives the recovery, which stops the hook task', async () => {
    const world = await hookWorld({ tasks: { 'python -m smoke': { hang: true } } });
    const smokeRunning = () =>
      world.rt.account.ecs.oneOff
        ?.all()
        .some((t) => t.command.includes('smoke') && t.lastStatus === 'RUNNING') ?? false;
    const result = await runIn('hooks stopped during smoke', world, 'any', async () => {
      world.rt.push('ledger-api', 'v2');
      expect(await world.rt.runUntil(smokeRunning)).toBe(true);
      world.rt.stopExecution(releaseId);
      world.rt.faults.fired.push('stopped during the smoke hook');
      await world.rt.wait(RECOVERY_BOUND_SECONDS);
      return { ids: [releaseId], outcome: (await world.rt.release(releaseId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Aborted');
    const smoke = world.rt.account.ecs.oneOff?.all().find((t) => t.command.includes('smoke'));
    expect(smoke?.lastStatus).toBe('STOPPED');
    expect(
      world.rt.account.callLog.some((c) => c.by === 'recover-execution' && c.call === 'ECS.StopTask'),
    ).toBe(true);
  });

  it('a rollback requested while the smoke hook runs stops its task (a migration would be left to finish)', async () => {
    // The "requested at %s" cases above stop at the first hook, the migration, which is left alone:
    // this one waits for the second, so the stop itself is what is checked.
    const world = await hookWorld({ tasks: { 'python -m smoke': { hang: true } } });
    const smoke = () => world.rt.account.ecs.oneOff?.all().find((t) => t.command.includes('smoke'));
    const result = await runIn('hooks rollback requested during smoke', world, 'any', async () => {
      world.rt.push('ledger-api', 'v2');
      expect(await world.rt.runUntil(() => smoke()?.lastStatus === 'RUNNING')).toBe(true);
      const rollbackId = world.rt.startRollback({
        target: 'ledger-api',
        reason: 'fault matrix: during smoke',
      });
      world.rt.faults.fired.push('rollback requested during the smoke hook');
      await world.rt.settle();
      return { ids: [releaseId, rollbackId], outcome: (await world.rt.release(releaseId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Aborted');
    expect(smoke()?.lastStatus).toBe('STOPPED');
    // Stopped by Switchyard (SIGKILL after the stop timeout: the hung command ignored SIGTERM).
    expect(smoke()?.exitCode).toBe(137);
    const migrate = world.rt.account.ecs.oneOff?.all().find((t) => t.command.includes('alembic'));
    expect(migrate?.exitCode).toBe(0);
  });
});
