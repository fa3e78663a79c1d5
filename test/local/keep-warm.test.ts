/**
 * Keeping the release functions warm (functions/shared/keep-warm.ts): a release spends minutes in
 * its waits, and Lambda shuts an environment down after it idles (local/execution-environments.ts:
 * 5 minutes here). Without warm-ups every step after a long wait started cold, 0.35 s each on the
 * critical path. The reconciler's ticks and start-release now send each function a warm-up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { keptWarmFunctions, startChainFunctions } from '../../state-machines/definitions.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

/** The states of `states` whose step started cold at least once (none, when they all started warm). */
const coldStartsIn = (world: TestWorld, states: string[]) =>
  states.filter((state) => (world.rt.lambda.coldStartsByState.get(state) ?? 0) > 0);

describe('warm-ups while releases run', () => {
  it('the steps after a release’s waits start warm, and the warm-ups run none of its steps', async () => {
    w = await startWorld();
    w.rt.push('checkout-api', 'v2');
    await w.rt.settle();
    const release = await w.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2')));
    expect(release?.outcome).toBe('Promoted');
    const { lambda } = w.rt;
    // Each of these runs after a wait of minutes (the snapshot, the bake): warm, where each used to
    // start cold. Only AcquireLock, invoked a moment after the start, is left to start cold.
    expect(
      coldStartsIn(w, ['CheckHealth', 'ShiftTraffic', 'ScaleDownOldColour', 'RecordOutcome', 'Notify']),
    ).toEqual([]);
    expect(lambda.coldStartsByState.get('AcquireLock')).toBe(1);
    // Validate runs half a second after the start: start-release's warm-ups run at once
    // (RequestResponse) so that its environment has finished its init by then; queued, they began
    // their init too late, and Validate started cold.
    expect(lambda.coldStartsByState.get('Validate') ?? 0).toBe(0);
    // Every release function was warmed, and a warm-up is not a step: each step ran as often as it
    // would have (one phase each), and none failed on the warm-up's event.
    for (const folder of keptWarmFunctions())
      expect(lambda.byFunction.get(folder), folder).toBeGreaterThanOrEqual(1);
    const phases = (release?.phases ?? []).map((p) => p.name);
    for (const step of ['CheckHealth', 'ScaleDownOldColour', 'RecordOutcome'])
      expect(
        phases.filter((p) => p === step),
        step,
      ).toHaveLength(1);
    expect((release?.phases ?? []).filter((p) => p.status === 'failed')).toEqual([]);
    expect(w.rt.account.lambda.deadLetters).toEqual([]);
  });

  it('a push into an idle account finds the functions of its first second warm: the reconciler keeps them so between releases', async () => {
    w = await startWorld();
    // No release for ten and a half minutes: an environment idle five is shut down, unless a tick
    // warmed it.
    await w.rt.wait(10 * 60 + 30);
    const { lambda } = w.rt;
    const startReleaseColdBefore = lambda.environments.coldStartsBy.get('start-release') ?? 0;
    w.rt.push('checkout-api', 'v2');
    await w.rt.settle();
    const release = await w.rt.release(releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2')));
    expect(release?.outcome).toBe('Promoted');
    expect(lambda.environments.coldStartsBy.get('start-release') ?? 0).toBe(startReleaseColdBefore);
    expect(
      coldStartsIn(w, [
        'AcquireLock',
        'Validate',
        'BackupDatabase',
        'DeployInactiveColour',
        'WaitForSnapshot',
      ]),
    ).toEqual([]);
    // start-release's round leaves acquire-lock alone: invoked 50 ms after the start, its step would
    // find the warm environment held by that warm-up, and start cold.
    const round = w.rt.account.callLog.filter((c) => c.call === 'Lambda.Invoke' && c.by === 'start-release');
    expect(round.length).toBeGreaterThan(0);
    expect(round.filter((c) => c.functionName === 'switchyard-acquire-lock')).toEqual([]);
    for (const folder of startChainFunctions)
      expect(lambda.byFunction.get(folder), folder).toBeGreaterThanOrEqual(10);
  });

  it('pushes at once send one round of warm-ups between them, not one each (a platform-wide rebuild)', async () => {
    w = await startWorld();
    w.rt.push('checkout-api', 'v2');
    w.rt.push('search-api', 'release-2');
    await w.rt.settle();
    const started = w.rt.executions().filter((e) => e.stateMachineArn === w?.rt.releaseStateMachineArn);
    expect(started).toHaveLength(2);
    const byStart = () =>
      w?.rt.account.callLog.filter((c) => c.call === 'Lambda.Invoke' && c.by === 'start-release') ?? [];
    expect(byStart()).toHaveLength(keptWarmFunctions().length);
    // A minute on, the next push sends its own round.
    const first = byStart()[0]?.at ?? 0;
    w.rt.push('checkout-api', 'v3');
    await w.rt.settle();
    expect(byStart()).toHaveLength(2 * keptWarmFunctions().length);
    expect((byStart().at(-1)?.at ?? 0) - first).toBeGreaterThanOrEqual(60_000);
  });
});
