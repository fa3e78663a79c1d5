/**
 * `switchyard plan` (issue 18): what a release would do, read from the simulated account, with no
 * write call anywhere (no AWS write, no table write, no push), and the checks that would stop it.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { planRelease } from '../../cli/plan.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { approvalWorlds, parkedRelease } from '../support/approval-world.ts';
import { backendOf } from '../support/cli-backend.ts';

const start = approvalWorlds();

const tablesOf = async (rt: LocalRuntime) =>
  Object.fromEntries(
    await Promise.all(
      Object.values(rt.tables).map(async (table) => [
        table,
        ((await rt.until(rt.doc.send(new ScanCommand({ TableName: table })))).Items ?? []).map((i) =>
          JSON.stringify(i),
        ),
      ]),
    ),
  );

const plan = async (rt: LocalRuntime, kind: 'aws' | 'local', tag: string, by = 'alice@example.com') => {
  const lines: string[] = [];
  const target = rt.targets.targets.find((t) => t.name === 'orders-api');
  if (!target) throw new Error('orders-api missing');
  const result = await planRelease(
    await backendOf(rt, kind),
    { line: (l) => lines.push(l) },
    {
      target,
      tag,
      strategy: target.traffic.strategy,
      by,
    },
  );
  return { ...result, text: lines.join('\n'), json: result.json as Record<string, unknown> };
};

describe('switchyard plan', () => {
  it('lists the steps, the new tasks and who would be asked, and makes no write call of any kind', async () => {
    const world = await start();
    world.rt.account.ecr.push('orders-api', 'v2', { silent: true });
    const calls = world.rt.account.callLog.length;
    const tables = await tablesOf(world.rt);
    const images = JSON.stringify([...world.rt.account.ecr.repositories.values()]);

    const result = await plan(world.rt, 'aws', 'v2');
    expect(result.exitCode).toBe(0);
    expect(result.json).toMatchObject({
      target: 'orders-api',
      from: 'blue',
      to: 'green',
      extraTasks: 4,
      approval: { asked: ['bob@example.com'], twoPerson: false, timeoutMinutes: 60 },
      wouldStart: true,
    });
    const steps = (result.json.steps as { step: string }[]).map((s) => s.step);
    expect(steps).toEqual([
      'AcquireLock, Validate',
      'DeployInactiveColour',
      ...(world.orders.health.graceSeconds > 0 ? ['HealthGrace'] : []),
      'CheckHealth',
      'WaitForApproval',
      'ShiftTraffic',
      ...(world.orders.bakeMinutes > 0 ? ['Bake'] : []),
      'ScaleDownOldColour',
    ]);
    expect(result.text).toContain('ask bob@example.com (email, slack; not alice@example.com, who asks)');
    // An operator planning during a rebuild learns why the first step may wait.
    expect(result.text).toContain('validated two a second and register one a second');
    expect(result.text).toContain('nothing is changed by this command');

    // Only reads reached the account; the tables and ECR are as they were.
    const made = world.rt.account.callLog.slice(calls).map((c) => c.call);
    expect(made.length).toBeGreaterThan(0);
    expect(made.filter((c) => !/^\w+\.(Describe|Get|List)\w*$/.test(c))).toEqual([]);
    expect(await tablesOf(world.rt)).toEqual(tables);
    expect(JSON.stringify([...world.rt.account.ecr.repositories.values()])).toBe(images);
  });

  it('says which checks would stop the release now (image missing, lock held) and exits 1', async () => {
    const world = await start();
    const { releaseId } = await parkedRelease(world, 'orders-api');
    world.rt.account.cloudwatch.setState(
      world.orders.alarms[0] as string,
      'ALARM',
      'Threshold Crossed: 5xx 7%',
    );
    const result = await plan(world.rt, 'aws', 'v9');
    expect(result.exitCode).toBe(1);
    const checks = Object.fromEntries(
      (result.json.checks as { check: string; ok: boolean; detail: string }[]).map((c) => [c.check, c]),
    );
    expect(checks.image).toMatchObject({
      ok: false,
      detail: 'orders-api:v9 is not in ECR (ImageNotFoundException): push it first',
    });
    expect(checks.lock).toMatchObject({ ok: false, detail: expect.stringContaining(`held by ${releaseId}`) });
    expect(checks.alarms).toMatchObject({ ok: false, detail: expect.stringContaining('in ALARM') });
    expect(checks.traffic).toMatchObject({ ok: true });
    expect(result.text).toMatch(/It would not go through now: 3 check\(s\) fail\./);
  });
});
