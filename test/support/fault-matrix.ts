/**
 * The fault-injection matrix: for a step of a state machine and a kind of fault, run a release (or
 * a rollback) in the simulated account with that fault and report what happened and which
 * invariants broke. Results are appended to the file the global setup provides
 * (test/support/fault-summary.ts), so the run's summary line covers every test file.
 */
import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';
import type { Target } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { releaseDefinitionText, taskStatesOf } from '../../state-machines/definitions.ts';
import { brokenInvariants } from './invariants.ts';
import { startWorld } from './runtime.ts';

/** Faults that strike the calls or the invocation of one state. */
export const stepFaults = {
  'API 5xx': (state: string): FaultPlan => ({
    api: [{ service: '*', operation: '*', state, error: 'InternalFailure', status: 500, times: 5 }],
  }),
  throttling: (state: string): FaultPlan => ({
    api: [{ service: '*', operation: '*', state, error: 'ThrottlingException', status: 400, times: 5 }],
  }),
  'call timed out (after taking effect)': (state: string): FaultPlan => ({
    api: [
      {
        service: '*',
        operation: '*',
        state,
        error: 'TimeoutError',
        mode: 'timeout',
        times: 2,
      },
    ],
  }),
  'crash after side effect': (state: string): FaultPlan => ({
    lambda: [{ state, kind: 'crash-after-effect', times: 1 }],
  }),
  'function timed out': (state: string): FaultPlan => ({ lambda: [{ state, kind: 'timeout', times: 1 }] }),
} as const;

/** The hooks' Task states: reached only by a target with hooks (test/faults/hook-steps.test.ts). */
export const hookStates = [
  'RunPreDeployHook',
  'WaitForPreDeployHook',
  'RecordPreDeployHook',
  'RunPreTrafficHook',
  'WaitForPreTrafficHook',
  'RecordPreTrafficHook',
  'RunPostTrafficHook',
  'WaitForPostTrafficHook',
  'RecordPostTrafficHook',
];

/**
 * A Lambda hook's Task states (test/faults/hook-steps.test.ts, edge-web): the invocation of the user's
 * function (by the state machine: no function of ours runs there) and its record.
 */
export const lambdaHookStates = [
  'StartPreDeployLambdaHook',
  'RecordPreDeployLambdaHook',
  'StartPreTrafficLambdaHook',
  'RecordPreTrafficLambdaHook',
  'StartPostTrafficLambdaHook',
  'RecordPostTrafficLambdaHook',
];
export const invokeStates = [
  'InvokePreDeployHook',
  'InvokePreTrafficHook',
  'InvokePostTrafficHook',
  // A migration's function, invoked once (notes-lam).
  'InvokePreDeployMigration',
  'InvokePreTrafficMigration',
];

/**
 * Before a target's preDeploy hooks: its snapshot and the new revision's registration (reached only by
 * a target with preDeploy hooks: boot-api in test/faults/hook-steps.test.ts).
 */
export const preDeployStates = ['BackUpBeforeHooks', 'WaitForSnapshotBeforeHooks', 'RegisterRevision'];

/**
 * A release group's Task states (Maps over its members): reached only by a target with a group
 * (test/faults/group-steps.test.ts). The first seven are on the way to Promoted; CleanUpMember
 * after a failure before traffic moved; the rest on the way back (RollBackGroup).
 */
export const groupStates = [
  'DeployMember',
  'WaitForMemberStable',
  'StopOldMember',
  'WaitForOldMemberDrained',
  'WaitForNewMemberStopped',
  'StartNewMember',
  'WaitForNewMemberStable',
  'ScaleDownOldMember',
  'CleanUpMember',
  'StartOldMember',
  'WaitForOldMemberStable',
  'StopNewMember',
  'StopNewSingleton',
  'WaitForNewSingletonDrained',
  'WaitForOldSingletonStopped',
  'StartOldSingleton',
  'WaitForOldSingletonStable',
];

/** Reached only by a target promoted from another (test/faults/promotion-steps.test.ts). */
export const promotionStates = ['RecheckPromotionGate'];

/** Reached only by a target with analysis (test/faults/analysis-steps.test.ts). */
export const analysisStates = ['AnalyseBake', 'AnalyseTestTraffic'];

/**
 * The release's Task states this fixture's checkout-api reaches. The others are covered where a
 * target reaches them: approval-steps, freeze-steps, hook-steps, group-steps, promotion-steps and
 * analysis-steps.
 */
export const fixtureReleaseStates = (): string[] =>
  taskStatesOf(releaseDefinitionText(), [
    'WaitForApproval',
    'FrozenWatch',
    ...hookStates,
    ...lambdaHookStates,
    ...invokeStates,
    ...preDeployStates,
    ...groupStates,
    ...promotionStates,
    ...analysisStates,
  ]);

/** Faults that strike the events a waiting step listens for. */
export const eventFaults = {
  'lost events': (detailType: string): FaultPlan => ({
    events: [{ detailType, action: 'drop', times: 100 }],
  }),
  'duplicated event': (detailType: string): FaultPlan => ({
    events: [{ detailType, action: 'duplicate', times: 1 }],
  }),
  'out-of-order event': (detailType: string): FaultPlan => ({
    events: [{ detailType, action: 'delay', delaySeconds: 120, times: 1 }],
  }),
} as const;

/** How the release goes without faults; each scenario reaches a different set of states. */
export const scenarios = {
  /** checkout-api v2: snapshot, deploy, health, 100%, 20-minute warm bake, scale down. */
  happy: { plan: {} as FaultPlan, outcome: 'Promoted' },
  /** v2 fails its health checks: the deploy fails, green is cleaned up. */
  'bad image': { plan: { unhealthyTags: ['v2'] } as FaultPlan, outcome: 'Aborted' },
  /** v2 answers 5% of requests with 5xx: the alarm fires during the bake, traffic goes back. */
  alarm: { plan: { errorRates: { v2: 0.05 } } as FaultPlan, outcome: 'RolledBack' },
  /** v2 is promoted cleanly, then an operator rolls back after blue was scaled down (slow path). */
  rollback: { plan: {} as FaultPlan, outcome: 'RolledBack' },
} as const;
export type ScenarioName = keyof typeof scenarios;

export interface CaseResult {
  outcome: string | undefined;
  broken: string[];
  fired: string[];
}

/** Runs one case in a fresh simulated account and records it for the summary line. */
export const runCase = async (
  name: string,
  scenario: ScenarioName,
  faults: FaultPlan,
  expected: string = scenarios[scenario].outcome,
): Promise<CaseResult> => {
  const base = scenarios[scenario].plan;
  const rollback = scenario === 'rollback';
  const w = await startWorld({ faults: rollback ? base : { ...base, ...faults } });
  return runIn(name, { rt: w.rt, target: w.checkout }, expected, async () => {
    w.rt.push('checkout-api', 'v2');
    await w.rt.settle();
    const releaseId = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
    const ids = w.rt.executions().some((e) => e.name === releaseId) ? [releaseId] : [];
    // Rollbacks an operator fault started (faults.operator) are checked with the release.
    for (const e of w.rt.executions()) {
      if (e.name !== releaseId && (await w.rt.release(e.name))) ids.push(e.name);
    }
    const outcome = ids.length ? (await w.rt.release(releaseId))?.outcome : 'not started';
    if (!rollback) return { ids, outcome };
    await w.rt.drain();
    w.rt.faults.arm(faults);
    const rollbackId = w.rt.startRollback({ target: 'checkout-api', reason: `fault matrix: ${name}` });
    await w.rt.settle();
    return { ids: [rollbackId], outcome: (await w.rt.release(rollbackId))?.outcome };
  });
};

/**
 * Runs one case in a world the caller built (any targets file): `drive` runs the release and says
 * which records to check and what the outcome was; then the world drains and I1-I7 are checked.
 */
export const runIn = async (
  name: string,
  world: { rt: LocalRuntime; target: Target; overlaps?: string[] },
  expected: string,
  drive: () => Promise<{ ids: string[]; outcome: string | undefined }>,
): Promise<CaseResult> => {
  try {
    const snapshotsBefore = world.rt.account.rds.snapshots.size;
    const { ids, outcome } = await drive();
    await world.rt.drain(600);
    const broken = [
      ...(await brokenInvariants(world.rt, world.target, ids, snapshotsBefore)),
      ...(world.overlaps ?? []),
    ];
    const result = { outcome, broken, fired: [...world.rt.faults.fired] };
    record(name, result, expected);
    return result;
  } finally {
    await world.rt.dispose();
  }
};

const record = (name: string, result: CaseResult, expected: string) => {
  const file = inject('faultResults');
  if (!file) return;
  // `any`: a random schedule, where only the invariants are asked for.
  const passed =
    result.broken.length === 0 &&
    (expected === 'any' || (result.outcome === expected && result.fired.length > 0));
  appendFileSync(file, `${JSON.stringify({ name, passed })}\n`);
};

/**
 * A fault that lets `state`'s `service`.`operation` take effect and loses its answer (the SDK sends it
 * again when its 10 s timeout fires): with `stopWithChangeInFlight`, an execution that ends while one
 * of its steps still changes a service or the traffic.
 */
export const changeInFlight = (state: string, service: string, operation: string): FaultPlan => ({
  api: [{ service, operation, state, error: 'TimeoutError', mode: 'timeout', times: 1 }],
});

/** Stops `name` a second after `state`'s call went out (its change has landed; its answer comes in 10 s). */
export const stopWithChangeInFlight = async (
  rt: LocalRuntime,
  name: string,
  state: string,
  call: string,
): Promise<boolean> => {
  const fired = () => rt.faults.fired.some((f) => f.startsWith(`${state}: ${call}`));
  if (!(await rt.runUntil(fired, 3600))) return false;
  await rt.wait(1);
  rt.stopExecution(name);
  rt.faults.fired.push(`stopped with ${state}'s ${call} in flight`);
  return true;
};
