/**
 * A reconciler tick that resumes a wait sends no warm-ups (functions/reconciler/run.ts): the steps
 * after that wait run at once, on the environments the last tick warmed, and a warm-up landing then
 * (Lambda's queue delays it 200 ms here) held one of them, so the step started cold. Found in the
 * hooks release's trace: the tick found the pre-traffic hook finished, and ShiftTraffic started cold.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRelease, scenarios } from '../../local/scenarios.ts';

const targetsFile = fileURLToPath(new URL('../../local/targets.json', import.meta.url));

describe('warm-ups and the reconciler’s own resumes', () => {
  it('the steps after a hook the tick found finished start warm', async () => {
    // The release once, for the environments it needs; then again with them warm at its start (the
    // bench's warm run), where no step should start cold.
    let needed: Record<string, number> = {};
    await runRelease('migration', scenarios.migration, { targetsFile, seed: 1 }, (rt) => {
      needed = Object.fromEntries(rt.lambda.environments.coldStartsBy);
    });
    let coldByState: Map<string, number> | undefined;
    let tickResumes = 0;
    let warmedOnResume = 0;
    const summary = await runRelease(
      'migration',
      scenarios.migration,
      { targetsFile, seed: 1, warmEnvironments: needed },
      (rt) => {
        coldByState = new Map(rt.lambda.coldStartsByState);
        const byReconciler = rt.account.callLog.filter((c) => c.by === 'reconciler');
        const resumedAt = byReconciler.filter((c) => c.call === 'SFN.SendTaskSuccess').map((c) => c.at);
        tickResumes = resumedAt.length;
        // Ticks are a minute apart: a warm-up within a second of a tick's resume is that tick's.
        warmedOnResume = byReconciler.filter(
          (c) => c.call === 'Lambda.Invoke' && resumedAt.some((at) => Math.abs(c.at - at) < 1000),
        ).length;
      },
    );
    expect(summary.outcome).toBe('Promoted');
    // The case: at least one wait was resumed by a tick, not by its event.
    expect(tickResumes).toBeGreaterThan(0);
    expect(warmedOnResume).toBe(0);
    expect([...(coldByState?.keys() ?? [])]).toEqual([]);
  });
});
