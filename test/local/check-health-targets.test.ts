/**
 * CheckHealth on a colour with fewer targets registered than it runs, none failing
 * (check-health/targets.ts, run.ts). That is how a scale-up right after a scale-down reads (the
 * replaced tasks drain, the new ones are not yet registered): pending, TargetsNotRegistered. It is
 * also how a colour whose tasks crash reads between a crash and its replacement, and how a colour
 * that never registers reads. Found by review: both must still fail, and soon.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

/** checkout-api's service of `colour` in the simulated ECS. */
const serviceOf = (t: TestWorld, colour: 'blue' | 'green') => {
  const service = t.rt.account.ecs.services.get(
    `${t.checkout.ecs.cluster}/${t.checkout.ecs.services[colour]}`,
  );
  if (!service) throw new Error(`no ${colour} service`);
  return service;
};

/** Whether one of the service's tasks created after `at` exited by itself (a test's own premise). */
const crashedAfter = (service: ReturnType<typeof serviceOf>, at: number) =>
  (service.stopped ?? []).some(
    (task) => task.stopCode === 'EssentialContainerExited' && task.createdAt.getTime() > at,
  );

/**
 * Pushes v2 and, once its four green tasks run, stops one of them with `stopCode` (its container
 * exited with code 1, for EssentialContainerExited): ECS replaces it. Returns the task and when.
 */
const pushAndStopOneGreenTask = async (t: TestWorld, stopCode: string, reason: string) => {
  const { ecs } = t.rt.account;
  const green = serviceOf(t, 'green');
  t.rt.push('checkout-api', 'v2');
  const running = () => green.tasks.filter((task) => task.state === 'RUNNING');
  expect(await t.rt.runUntil(() => running().length === 4, 600)).toBe(true);
  const victim = running()[0];
  if (!victim) throw new Error('no running green task');
  if (stopCode === 'EssentialContainerExited') victim.exitCode = 1;
  const at = Date.now();
  (ecs as unknown as { stop: (...a: unknown[]) => void }).stop(green, victim, stopCode, reason);
  return { green, victim, at };
};

describe('fewer targets registered than the colour runs', () => {
  it.each([60, 120, 200])(
    'a green whose tasks exit %i s after starting never takes traffic: its stopped tasks fail CheckHealth',
    async (seconds) => {
      w = await startWorld({ faults: { crashAfterSeconds: { v2: seconds } } });
      w.rt.push('checkout-api', 'v2');
      await w.rt.settle();
      const r = await w.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2')));
      expect((r?.phases ?? []).filter((p) => p.name === 'ShiftTraffic')).toEqual([]);
      expect(r?.outcome).toBe('Aborted');
      expect(r?.error).toMatchObject({
        Error: 'HealthCheckFailed',
        Cause: expect.stringMatching(/green: task \w+ stopped: EssentialContainerExited|healthy targets/),
      });
    },
  );

  it('a green whose task crashed once and was replaced before the check never takes traffic, though all its targets read healthy', async () => {
    // Found when faster first steps moved CheckHealth: a crash-looping green read four healthy
    // targets between two crashes, and production traffic moved to it. Its own stopped tasks are
    // read beside the targets now, whatever the targets read.
    w = await startWorld();
    const t = w;
    const { victim, at: crashedAt } = await pushAndStopOneGreenTask(
      t,
      'EssentialContainerExited',
      'Essential container in task exited',
    );
    await t.rt.settle();
    const r = await t.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2')));
    const check = (r?.phases ?? []).filter((p) => p.name === 'CheckHealth');
    expect(check).toHaveLength(1);
    expect((r?.phases ?? []).filter((p) => p.name === 'ShiftTraffic')).toEqual([]);
    expect(r).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'HealthCheckFailed',
        Cause: expect.stringContaining(
          `green: task ${victim.id} stopped: EssentialContainerExited (exit code 1)`,
        ),
      },
    });
    // The check came minutes after the crash: ECS had long replaced the task (about 30-60 s).
    expect(Date.parse(check[0]?.startedAt ?? '') - crashedAt).toBeGreaterThan(5 * 60_000);
  });

  it('a good release queued behind a crash-looping one is not blamed for its crashes (found by review)', async () => {
    // v3's execution starts while v2 is still judged, and waits on the lock: ECS goes on replacing
    // v2's crashing tasks after v3's start. They are v2's deployment's, not v3's.
    w = await startWorld({ faults: { crashAfterSeconds: { v2: 90 } } });
    const t = w;
    const green = serviceOf(t, 'green');
    t.rt.push('checkout-api', 'v2');
    expect(
      await t.rt.runUntil(() => green.tasks.filter((task) => task.state === 'RUNNING').length === 4, 600),
    ).toBe(true);
    t.rt.push('checkout-api', 'v3');
    await t.rt.settle();
    const of = (tag: string) =>
      t.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', tag)));
    expect((await of('v2'))?.outcome).toBe('Aborted');
    expect((await of('v3'))?.outcome).toBe('Promoted');
    // v2's tasks did stop after v3's execution started (else this would test nothing).
    const v3Started =
      t.rt
        .executions()
        .find((e) => e.name === releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v3')))
        ?.startDate?.getTime() ?? Infinity;
    expect(crashedAfter(green, v3Started)).toBe(true);
  });

  it.each(['wait'] as const)(
    'a rollback (ifRunning %s) started while a crash-looping release deploys is not failed by its crashes (found by review)',
    async (ifRunning) => {
      w = await startWorld({ faults: { crashAfterSeconds: { v3: 90 } } });
      const t = w;
      t.rt.push('checkout-api', 'v2');
      await t.rt.settle();
      const blue = serviceOf(t, 'blue');
      t.rt.push('checkout-api', 'v3');
      expect(
        await t.rt.runUntil(() => blue.tasks.filter((task) => task.state === 'RUNNING').length === 4, 900),
      ).toBe(true);
      const id = t.rt.startRollback({ target: 'checkout-api', reason: 'bad v2', ifRunning });
      const rollbackStarted = Date.now();
      await t.rt.settle();
      expect((await t.rt.release(id))?.outcome).toBe('RolledBack');
      // v3's tasks did crash after the rollback started (else this would test nothing).
      expect(crashedAfter(blue, rollbackStarted)).toBe(true);
    },
  );

  it('a colour with more than 100 tasks stopped in the last hour is still checked: a crash on the second page fails it (found by review)', async () => {
    w = await startWorld();
    const t = w;
    const green = serviceOf(t, 'green');
    const model = serviceOf(t, 'blue').tasks[0];
    if (!model) throw new Error('no blue task');
    // A large colour scaled down ten minutes ago: 120 tasks stopped by the scheduler.
    green.stopped = Array.from({ length: 120 }, (_, i) => ({
      ...model,
      id: `ffff${i.toString(16).padStart(28, '0')}`,
      state: 'STOPPED' as const,
      stopCode: 'ServiceSchedulerInitiated',
      stoppedReason: 'Scaling activity initiated by (deployment)',
      createdAt: new Date(Date.now() - 3 * 3600_000),
      stoppedAt: new Date(Date.now() - 10 * 60_000),
      exitCode: 0,
    }));
    // One of v2's tasks crashes once it runs: its stop is listed after the 120 older ones.
    const { victim } = await pushAndStopOneGreenTask(
      t,
      'EssentialContainerExited',
      'Essential container in task exited',
    );
    await t.rt.settle();
    const r = await t.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2')));
    expect(r).toMatchObject({
      outcome: 'Aborted',
      error: { Error: 'HealthCheckFailed', Cause: expect.stringContaining(`task ${victim.id} stopped`) },
    });
  });

  it('a task that failed to start, replaced and healthy since, does not fail the check: ECS retries that, and the targets say the colour serves', async () => {
    w = await startWorld();
    const t = w;
    const { green, victim } = await pushAndStopOneGreenTask(
      t,
      'TaskFailedToStart',
      'CannotPullContainerError: pull access denied (a moment)',
    );
    await t.rt.settle();
    const r = await t.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2')));
    expect(r?.outcome).toBe('Promoted');
    expect(
      green.stopped?.some((task) => task.id === victim.id && task.stopCode === 'TaskFailedToStart'),
    ).toBe(true);
  });

  it('a rollback is not failed by a crash of its colour from before it started (found by review)', async () => {
    w = await startWorld();
    const t = w;
    const { ecs } = t.rt.account;
    const blue = serviceOf(t, 'blue');
    // One of blue's v1 tasks exits while blue is live (ECS replaces it): not the rollback's doing.
    const victim = blue.tasks.find((task) => task.state === 'RUNNING');
    if (!victim) throw new Error('no running blue task');
    victim.exitCode = 137;
    (ecs as unknown as { stop: (...a: unknown[]) => void }).stop(
      blue,
      victim,
      'EssentialContainerExited',
      'Essential container in task exited',
    );
    await t.rt.drain(30);
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    const r = await t.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2')));
    expect(r?.outcome).toBe('Promoted');
    // blue is at 0 on v1, its deployment the same as when the task crashed: the rollback scales it
    // up on v1 (no new deployment), reads it short of targets, and reads its stopped tasks.
    const id = t.rt.startRollback({ target: 'checkout-api', reason: 'bad v2' });
    await t.rt.settle();
    const record = await t.rt.release(id);
    expect(record).toMatchObject({ outcome: 'RolledBack', rollbackPath: 'slow' });
    // The crash is still listed, and counts for a check of blue since before it: not since the rollback.
    const { failedMemberTasks } = await import('../../functions/shared/member-health.ts');
    const { ecs: client } = await import('../../functions/shared/clients.ts');
    const blueService = {
      member: 'blue',
      cluster: t.checkout.ecs.cluster,
      service: t.checkout.ecs.services.blue,
    };
    const rollbackStarted = t.rt.executions().find((e) => e.name === id)?.startDate ?? new Date(0);
    expect((await t.rt.until(failedMemberTasks(client, [blueService], new Date(0)))).get('blue')).toEqual([
      expect.stringContaining('EssentialContainerExited (exit code 137)'),
    ]);
    expect((await t.rt.until(failedMemberTasks(client, [blueService], rollbackStarted))).size).toBe(0);
  });

  it('a rollback whose colour never registers its targets fails in about four minutes, not twenty', async () => {
    w = await startWorld();
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    // blue's service no longer registers its tasks in its target group (its load balancer points elsewhere).
    const blue = serviceOf(t, 'blue');
    blue.targetGroupArn = undefined;
    const started = Date.now();
    const id = t.rt.startRollback({ target: 'checkout-api', reason: 'bad v2' });
    await t.rt.settle();
    const record = await t.rt.release(id);
    const checks = (record?.phases ?? []).filter((p) => p.name === 'CheckHealth');
    expect(record).toMatchObject({
      outcome: 'RollbackFailed',
      error: {
        Error: 'TargetsNotRegistered',
        Cause: expect.stringMatching(/^blue: 0\/4 targets registered/),
      },
    });
    // The first try and the state's ten retries (10 s growing to 30 s apart: 257 s in all).
    expect(checks).toHaveLength(11);
    const lastCheck = Date.parse(checks.at(-1)?.endedAt ?? '');
    expect(lastCheck - started).toBeGreaterThan(4 * 60_000);
    expect(lastCheck - started).toBeLessThan(6 * 60_000);
  });
});
