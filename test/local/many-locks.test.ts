/**
 * The reconciler with many locks at once (a platform-wide rebuild holds one per target): it lists
 * the running owners a page at a time (ListExecutions) instead of describing each owner every
 * minute, which Step Functions' DescribeExecution bucket (15 calls a second) would throttle. An
 * owner that is not listed is still described, so a stopped release is recovered as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LIST_FROM_LOCKS } from '../../functions/reconciler/run.ts';
import { findTarget } from '../../functions/shared/config.ts';
import { executionArnOf } from '../../functions/shared/executions.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { buildWorld, platformTargets } from '../../local/world.ts';

/** One targets file for the file (functions read theirs once per process): a few more than the threshold. */
const TARGETS = LIST_FROM_LOCKS + 2;
const dir = mkdtempSync(join(tmpdir(), 'switchyard-many-locks-'));
const targetsFile = join(dir, 'targets.json');
writeFileSync(targetsFile, JSON.stringify({ targets: platformTargets(TARGETS) }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let rt: LocalRuntime | undefined;
afterEach(async () => {
  await rt?.dispose();
  rt = undefined;
});

/** The first `count` targets pushed v2 at once; the world runs until each of them holds its lock. */
const rebuild = async (count: number, faults?: FaultPlan) => {
  const runtime = await LocalRuntime.start({ targetsFile, faults }, (r) => {
    for (const target of r.targets.targets) buildWorld(r.account, target, { liveTag: 'v1', tasks: 2 });
  });
  rt = runtime;
  for (const t of runtime.targets.targets.slice(0, count)) runtime.push(t.image.repository, 'v2');
  const all = async () => (await runtime.store.allLocks()).length === count;
  expect(await runtime.runUntil(all, 600)).toBe(true);
  return runtime;
};

const releaseOf = (target: string) => releaseIdFor(target, EcrModel.digestOf(target, 'v2'));

/** The reconciler's Step Functions reads since `from` (virtual ms), by operation. */
const reconcilerReads = (runtime: LocalRuntime, from: number) => {
  const calls = runtime.account.callLog.filter((c) => c.by === 'reconciler' && c.at >= from);
  const count = (call: string) => calls.filter((c) => c.call === call && !c.throttled).length;
  return { list: count('SFN.ListExecutions'), describe: count('SFN.DescribeExecution') };
};

/** Stops svc-003's release by hand with its status event lost: only the reconciler can recover it. */
const stopOneSilently = (runtime: LocalRuntime) => {
  runtime.faults.arm({
    events: [{ detailType: 'Step Functions Execution Status Change', action: 'drop', times: 1 }],
  });
  runtime.stopExecution(releaseOf('svc-003'));
};

describe('the reconciler with many locks', () => {
  it('lists the running owners each minute instead of describing each, and still recovers a stopped one', async () => {
    const runtime = await rebuild(TARGETS);
    const from = Date.now();
    await runtime.wait(180);
    // A tick a minute (three, or four when one falls on each end): one page of the release
    // machine each, and no owner described while all of them run.
    const running = reconcilerReads(runtime, from);
    expect(running.describe).toBe(0);
    expect(running.list).toBeGreaterThanOrEqual(3);
    expect(running.list).toBeLessThanOrEqual(4);

    stopOneSilently(runtime);
    const stoppedAt = Date.now();
    await runtime.wait(120);
    const reads = reconcilerReads(runtime, stoppedAt);
    // The stopped owner is not listed, so it alone is described: once, and recovered.
    expect(reads.describe).toBe(1);
    expect(reads.list).toBeGreaterThanOrEqual(1);
    expect(await runtime.store.getLock('svc-003')).toBeUndefined();
    const stopped = await runtime.release(releaseOf('svc-003'));
    expect(stopped?.error).toMatchObject({ Error: 'ExecutionAborted' });
    expect(liveWeights(runtime, findTarget(runtime.targets, 'svc-003')).green).toBe(0);

    await runtime.settle();
    for (const t of runtime.targets.targets.filter((t) => t.name !== 'svc-003')) {
      expect((await runtime.release(releaseOf(t.name)))?.outcome, t.name).toBe('Promoted');
    }
  });

  it('describes each owner when listing fails, and still recovers a stopped one', async () => {
    const runtime = await rebuild(TARGETS, {
      api: [
        {
          service: 'SFN',
          operation: 'ListExecutions',
          error: 'AccessDeniedException',
          status: 400,
          times: 1000,
        },
      ],
    });
    stopOneSilently(runtime);
    const from = Date.now();
    await runtime.wait(120);
    const reads = reconcilerReads(runtime, from);
    // Tried at every tick, refused every time (the refusals are in the call log).
    expect(reads.list).toBeGreaterThanOrEqual(2);
    // Every owner described, at every tick, as with few locks.
    expect(reads.describe).toBeGreaterThanOrEqual(TARGETS);
    expect(await runtime.store.getLock('svc-003')).toBeUndefined();
    expect((await runtime.release(releaseOf('svc-003')))?.error).toMatchObject({ Error: 'ExecutionAborted' });
  });

  it('lists the rollback state machine too when a rollback holds a lock, and leaves its running owner undescribed', async () => {
    // svc-012 is released first and promoted (blue scaled down), so its rollback takes the slow
    // path and holds the lock for minutes; meanwhile the other eleven hold theirs.
    const runtime = await LocalRuntime.start({ targetsFile }, (r) => {
      for (const target of r.targets.targets) buildWorld(r.account, target, { liveTag: 'v1', tasks: 2 });
    });
    rt = runtime;
    runtime.push('svc-012', 'v2');
    await runtime.settle();
    expect((await runtime.release(releaseOf('svc-012')))?.outcome).toBe('Promoted');
    for (const t of runtime.targets.targets.slice(0, TARGETS - 1)) runtime.push(t.image.repository, 'v2');
    expect(
      await runtime.runUntil(async () => (await runtime.store.allLocks()).length === TARGETS - 1, 600),
    ).toBe(true);
    const rollbackId = runtime.startRollback({ target: 'svc-012', reason: 'bad v2' });
    const owned = async () => (await runtime.store.getLock('svc-012'))?.owner === rollbackId;
    expect(await runtime.runUntil(owned, 60)).toBe(true);
    await runtime.wait(120);
    expect(await owned()).toBe(true);

    const reconciler = runtime.account.iam.entries().filter((e) => e.by === 'reconciler');
    const rollbackExecution = executionArnOf(runtime.rollbackStateMachineArn, rollbackId);
    expect(reconciler).toContainEqual(
      expect.objectContaining({ action: 'states:ListExecutions', resource: runtime.rollbackStateMachineArn }),
    );
    expect(reconciler.filter((e) => e.resource === rollbackExecution)).toEqual([]);
    await runtime.settle();
    expect((await runtime.release(rollbackId))?.outcome).toBe('RolledBack');
  });

  it('the simulated ListExecutions pages most recent first, filters by status and refuses bad input as AWS does', async () => {
    const runtime = await rebuild(TARGETS);
    const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release';
    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const page = runtime.sfn.ListExecutions({
        stateMachineArn,
        statusFilter: 'RUNNING',
        maxResults: 5,
        nextToken,
      });
      pages.push(page.executions.map((e) => e.name));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages.map((p) => p.length)).toEqual([5, 5, TARGETS - 10]);
    const all = runtime.sfn.ListExecutions({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 1000 });
    expect(all.executions.map((e) => e.name)).toEqual(pages.flat());
    const starts = all.executions.map((e) => e.startDate.getTime());
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    expect(runtime.sfn.ListExecutions({ stateMachineArn, statusFilter: 'SUCCEEDED' }).executions).toEqual([]);
    expect(() => runtime.sfn.ListExecutions({ stateMachineArn, maxResults: 1001 })).toThrow(/maxResults/);
    expect(() => runtime.sfn.ListExecutions({ stateMachineArn, nextToken: 'forged' })).toThrow(
      /Invalid Token/,
    );
    expect(() => runtime.sfn.ListExecutions({ stateMachineArn: `${stateMachineArn}-x` })).toThrow(
      /State Machine Does Not Exist/,
    );
    expect(() => runtime.sfn.ListExecutions({ stateMachineArn: 'switchyard-release' })).toThrow(
      /Invalid Arn/,
    );
    expect(() => runtime.sfn.ListExecutions({ stateMachineArn, statusFilter: 'running' })).toThrow(
      /statusFilter must be one of/,
    );
  });

  it(`below ${LIST_FROM_LOCKS} locks, describes each owner as before and lists nothing`, async () => {
    const runtime = await rebuild(3);
    const from = Date.now();
    await runtime.wait(120);
    const reads = reconcilerReads(runtime, from);
    expect(reads.list).toBe(0);
    // Each of the three owners at each tick (two, or three when one falls on each end).
    expect(reads.describe).toBeGreaterThanOrEqual(2 * 3);
  });
});
