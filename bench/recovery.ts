/**
 * Time to recover, per fault class: after a fault that leaves work undone (an execution stopped or
 * timed out, a lost lock answer), the virtual seconds until the target is free again (or held by a
 * running execution), its traffic is on one colour, and every record of an ended execution is
 * closed. The figure per class is the maximum over its cases; the goal is two reconciler periods.
 */
import { fileURLToPath } from 'node:url';
import { findTarget, type Target } from '../functions/shared/config.ts';
import { SAFE_COLOUR_WAIT_MS } from '../functions/shared/recovery.ts';
import { releaseIdFor } from '../functions/shared/requests.ts';
import { EcrModel } from '../local/account/ecr-sns.ts';
import type { FaultPlan } from '../local/faults.ts';
import { LocalRuntime } from '../local/runtime.ts';
import { openWork } from '../local/scenarios.ts';
import { buildWorld, serveTestListener } from '../local/world.ts';
import { releaseDefinitionText, taskStatesOf } from '../state-machines/definitions.ts';

const targetsFile = fileURLToPath(new URL('../local/targets.json', import.meta.url));
/** Two reconciler periods: the reconciler runs every 60 s (infra/stack.ts, local/runtime.ts). */
export const RECOVERY_GOAL_SECONDS = 120;

const world = async (
  seed: number,
  faults?: FaultPlan,
  executionTimeoutSeconds?: number,
): Promise<{ rt: LocalRuntime; target: Target }> => {
  let target: Target | undefined;
  // AWS's default target groups (30 s × 5 to turn healthy, 300 s draining), as the other scenarios.
  const rt = await LocalRuntime.start(
    { targetsFile, seed, faults, ...(executionTimeoutSeconds ? { executionTimeoutSeconds } : {}) },
    async (r) => {
      target = findTarget(r.targets, 'payments-api');
      buildWorld(r.account, target, { liveTag: 'v1' });
      await serveTestListener(r.account, target);
    },
  );
  return { rt, target: target as Target };
};

const idOf = (tag: string) => releaseIdFor('payments-api', EcrModel.digestOf('payments-api', tag));
const entered = (rt: LocalRuntime, name: string, state: string) =>
  rt.executions().some((e) => e.name === name && e.history.some((h) => h.state === state));

/** Runs until the target is recovered (see above); the virtual seconds since `from`, or null. */
const recovered = async (rt: LocalRuntime, target: Target, from: number, limitSeconds = 3600) =>
  (await rt.runUntil(async () => (await openWork(rt, target)).length === 0, limitSeconds))
    ? (Date.now() - from) / 1000
    : null;

interface Case {
  name: string;
  /** Seconds to recover; null if it did not within the limit; undefined if the fault never struck. */
  run: (seed: number) => Promise<number | null | undefined>;
}

const stoppedAt = (state: string, faults?: FaultPlan): Case => ({
  name: state,
  run: async (seed) => {
    const { rt, target } = await world(seed, faults);
    try {
      rt.push('payments-api', 'v2');
      // payments-api has no database: its releases never enter the snapshot states.
      if (!(await rt.runUntil(() => entered(rt, idOf('v2'), state)))) return undefined;
      rt.stopExecution(idOf('v2'));
      return await recovered(rt, target, Date.now());
    } finally {
      await rt.dispose();
    }
  },
});

// Reached only by the alarm or bad-image paths, an approval target or a freeze window.
const releaseTasks = taskStatesOf(releaseDefinitionText(), [
  'CleanUpInactiveColour',
  'RollBackTraffic',
  'WaitForApproval',
  'FrozenWatch',
]);

const CHANGE_LOST = 'stopped as its scale or deployment lands, its answer lost';

/**
 * Each class's bound: two reconciler periods, but for a recovery that waits for the colour traffic
 * goes back to (recovery.ts: SAFE_COLOUR_WAIT_MS, then the tick that records the outcome).
 */
export const recoveryGoalSeconds = (fault: string) =>
  fault === CHANGE_LOST ? SAFE_COLOUR_WAIT_MS / 1000 + 60 : RECOVERY_GOAL_SECONDS;

/** Fault classes, each with its cases. */
export const recoveryClasses: Record<string, Case[]> = {
  'stopped by hand (at each Task state)': [...releaseTasks].map((s) => stoppedAt(s)),
  'stopped, its status event lost': ['ShiftTraffic', 'Bake'].map((s) =>
    stoppedAt(s, {
      events: [{ detailType: 'Step Functions Execution Status Change', action: 'drop', times: 5 }],
    }),
  ),
  // The step's change landed, its answer was lost, and the SDK sends it again 10 s later: the step
  // sees the halt then and undoes its change, so the recovery waits for it, and for the colour it
  // scaled back up to be whole again (AWS's default target group: 5 checks 30 s apart).
  [CHANGE_LOST]: ['DeployInactiveColour', 'ScaleDownOldColour'].map((s) =>
    stoppedAt(s, {
      api: [
        {
          service: 'ECS',
          operation: 'UpdateService',
          state: s,
          error: 'RequestTimeout',
          mode: 'timeout',
          times: 1,
        },
      ],
    }),
  ),
  'execution timed out (canary bake)': [
    {
      name: 'timeout 8 min',
      run: async (seed) => {
        const { rt, target } = await world(seed, undefined, 8 * 60);
        try {
          rt.push('payments-api', 'v2');
          const timedOut = () => rt.executions().some((e) => e.status === 'TIMED_OUT');
          if (!(await rt.runUntil(timedOut, 3600))) return null;
          return await recovered(rt, target, Date.now());
        } finally {
          await rt.dispose();
        }
      },
    },
  ],
  'lock answer lost (hand-over resume, displaced Superseded)': [
    ['SendTaskSuccess', 'ReleaseLock'],
    ['SendTaskFailure', 'AcquireLock'],
  ].map(([operation, state]) => ({
    name: `${state} ${operation}`,
    run: async (seed: number) => {
      const { rt } = await world(seed, {
        api: [
          {
            service: 'SFN',
            operation: operation as string,
            state,
            error: 'InternalFailure',
            status: 500,
            times: 1000,
          },
        ],
      });
      try {
        rt.push('payments-api', 'v2');
        await rt.wait(5);
        rt.push('payments-api', 'v3');
        if (state === 'AcquireLock') {
          await rt.wait(5);
          rt.push('payments-api', 'v4');
          const from = Date.now();
          const superseded = async () => (await rt.store.getRelease(idOf('v3')))?.outcome === 'Superseded';
          return (await rt.runUntil(superseded, 3600)) ? (Date.now() - from) / 1000 : null;
        }
        if (!(await rt.runUntil(() => entered(rt, idOf('v2'), 'ReleaseLock')))) return null;
        const from = Date.now();
        const resumed = () => entered(rt, idOf('v3'), 'Validate');
        return (await rt.runUntil(resumed, 3600)) ? (Date.now() - from) / 1000 : null;
      } finally {
        await rt.dispose();
      }
    },
  })),
};

export const measureRecovery = async (seed: number) => {
  const rows: { fault: string; cases: number; maxSeconds: number | null; worst: string }[] = [];
  for (const [fault, cases] of Object.entries(recoveryClasses)) {
    let max: number | null = 0;
    let worst = '';
    let struck = 0;
    for (const c of cases) {
      const seconds = await c.run(seed);
      if (seconds === undefined) continue;
      struck++;
      if (seconds === null) {
        max = null;
        worst = `${c.name}: not recovered within an hour`;
        break;
      }
      if (max !== null && seconds >= max) {
        max = seconds;
        worst = c.name;
      }
    }
    rows.push({ fault, cases: struck, maxSeconds: max, worst });
  }
  return rows;
};
