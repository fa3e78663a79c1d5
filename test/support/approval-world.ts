/** A simulated account with two approval targets (test/fixtures/targets-approval.json). */
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { findTarget, type Target } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { emailedLinks } from '../../local/approver.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';

const targetsFile = fileURLToPath(new URL('../fixtures/targets-approval.json', import.meta.url));

export interface ApprovalWorld {
  rt: LocalRuntime;
  /** One approver decides; email and Slack. */
  orders: Target;
  /** Two approvers when the requester is unknown (a push); email only. */
  ledger: Target;
}

export const startApprovalWorld = async (faults?: FaultPlan): Promise<ApprovalWorld> => {
  const world: Partial<ApprovalWorld> = {};
  world.rt = await LocalRuntime.start({ targetsFile, faults }, async (r) => {
    world.orders = findTarget(r.targets, 'orders-api');
    world.ledger = findTarget(r.targets, 'ledger-api');
    for (const target of [world.orders, world.ledger]) {
      buildWorld(r.account, target, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
      await serveTestListener(r.account, target);
    }
  });
  return world as ApprovalWorld;
};

/**
 * Throttles the approval page's SendTaskSuccess more than the SDK retries, three times over: every
 * send of one press fails. Only the page's function's calls: another function's send (answering an
 * event meanwhile) must not use one up.
 */
export const refuseThePagesSends = (world: ApprovalWorld) =>
  world.rt.faults.arm({
    api: [
      {
        service: 'SFN',
        operation: 'SendTaskSuccess',
        folder: 'approvals',
        error: 'ThrottlingException',
        times: 9,
      },
    ],
  });

/** Pushes v2 and runs virtual time until the release waits for approval (links emailed to `approver`). */
export const parkedRelease = async (world: ApprovalWorld, target: string, approver = 'bob@example.com') => {
  const { digest } = world.rt.push(target, 'v2');
  const releaseId = releaseIdFor(target, digest);
  const parked = await world.rt.runUntil(
    () => emailedLinks(world.rt, releaseId, approver).approve !== undefined,
  );
  expect(parked, `approval links for ${approver}`).toBe(true);
  const links = emailedLinks(world.rt, releaseId, approver);
  return { releaseId, approve: links.approve as string, reject: links.reject as string };
};

/** Starts a release of v`tag` as `by` (a manual release) and runs until `approver` has been emailed links. */
export const parkedManualRelease = async (
  world: ApprovalWorld,
  target: string,
  tag: string,
  by: string,
  approver = 'bob@example.com',
) => {
  const releaseId = world.rt.startRelease({ target, tag, by });
  const parked = await world.rt.runUntil(
    () => emailedLinks(world.rt, releaseId, approver).approve !== undefined,
  );
  expect(parked, `approval links for ${approver}`).toBe(true);
  return releaseId;
};

/** Runs the release to its end and returns its record. */
export const finish = async (world: ApprovalWorld, releaseId: string) => {
  await world.rt.settle();
  await world.rt.drain();
  return world.rt.release(releaseId);
};

/** For a test file: `start()` builds a world, disposed after each test. */
export const approvalWorlds = () => {
  let current: ApprovalWorld | undefined;
  afterEach(async () => {
    await current?.rt.dispose();
    current = undefined;
  });
  return async (faults?: FaultPlan): Promise<ApprovalWorld> => {
    current = await startApprovalWorld(faults);
    return current;
  };
};

export const isRunning = (world: ApprovalWorld, releaseId: string) =>
  world.rt.executions().find((e) => e.name === releaseId)?.status === 'RUNNING';

/** The functions' dependencies on this world's tables and clients (for calling decide directly). */
export const depsOf = async (world: ApprovalWorld) => {
  // Imported only now: the clients read the local endpoints the runtime has set, at import.
  const { releaseDeps } = await import('../../functions/shared/release-deps.ts');
  return releaseDeps(world.rt.targets, world.rt.store, world.rt.tables.approvals);
};

/**
 * What `switchyard approve|reject` uses against AWS (the tables and Step Functions), on this world;
 * `callerArn` is the IAM caller STS would name.
 */
/** Bob decides an approval directly (the decision code the page, Slack and the CLI share), in virtual time. */
export const decideAsBob = async (
  world: ApprovalWorld,
  approvalId: string,
  channel: 'email' | 'cli' = 'cli',
  deps?: Awaited<ReturnType<typeof depsOf>>,
) => {
  const { decide } = await import('../../functions/shared/approvals.ts');
  return world.rt.until(
    decide(
      { approvalId, approver: 'bob@example.com', action: 'approve', channel },
      deps ?? (await depsOf(world)),
    ),
  );
};

export const cliBackend = async (world: ApprovalWorld, callerArn?: string) => {
  const deps = await depsOf(world);
  return {
    store: deps.store,
    approvals: deps.approvals,
    clients: { sfn: deps.sfn },
    now: () => new Date(),
    ...(callerArn ? { callerArn: async () => callerArn } : {}),
  };
};
