/**
 * Progressive traffic on the shipped targets file: canary with an alarm, linear, a freeze window,
 * and an alarm during the final warm bake. Each run is a whole release in the simulated account.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { INIT_MS } from '../../local/execution-environments.ts';
import { runRelease, runScenario, type ScenarioSummary, scenarios } from '../../local/scenarios.ts';

const targetsFile = fileURLToPath(new URL('../../local/targets.json', import.meta.url));

const settledClean = (s: ScenarioSummary) => {
  expect(s.lockHeldBy).toBeNull();
  expect(s.notifications[0]).toMatch(/v2: started$/);
  expect(s.notifications.at(-1)).toMatch(new RegExp(`v2: ${s.outcome}$`));
  expect(s.notificationFailures).toBe(0);
};

describe('progressive traffic', () => {
  it('canary-alarm: the alarm at 10% puts all traffic back on blue within 2 s, green scaled to 0', async () => {
    const s = await runScenario('canary-alarm', { targetsFile });
    expect(s).toMatchObject({
      outcome: 'RolledBack',
      strategy: 'canary',
      trafficSteps: [10, 0],
      weights: { blue: 100, green: 0 },
      tasks: { blue: 4, green: 0 },
      error: {
        Error: 'AlarmTriggered',
        Cause: expect.stringContaining('alarm "payments-api-5xx" is in ALARM'),
      },
    });
    // Most traffic never saw green: it only ever had its 10% canary share.
    expect(s.newColourSharePercent).toBeLessThanOrEqual(10);
    expect(s.alarms[0]).toMatchObject({ alarm: 'payments-api-5xx', state: 'ALARM' });
    expect(s.timeToRollbackSeconds).not.toBeNull();
    expect(s.timeToRollbackSeconds).toBeLessThanOrEqual(2);
    // The bake ended with the alarm, not at its 10 minutes.
    const bake = s.phases.find((p) => p.name === 'Bake');
    expect(bake).toMatchObject({ status: 'failed', detail: expect.stringContaining('at 10% on green') });
    expect(Date.parse(bake?.endedAt ?? '') - Date.parse(bake?.startedAt ?? '')).toBeLessThan(120_000);
    settledClean(s);
  });

  it('linear: nine verified 10% steps with a bake each, then 100% and the warm bake → Promoted', async () => {
    let completedAt = 0;
    const s = await runRelease('linear', scenarios.linear, { targetsFile }, (runtime) => {
      const event = runtime.bus.emitted.find((e) => e.detail.eventName === 'SERVICE_DEPLOYMENT_COMPLETED');
      completedAt = event ? (runtime.bus.emittedAt.get(event.id) ?? 0) : 0;
    });
    expect(s).toMatchObject({
      outcome: 'Promoted',
      trafficSteps: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
      weights: { blue: 0, green: 100 },
      tasks: { blue: 0, green: 4 },
      timeToRollbackSeconds: null,
    });
    const bakes = s.phases.filter((p) => p.name === 'Bake');
    expect(bakes.map((b) => (Date.parse(b.endedAt) - Date.parse(b.startedAt)) / 1000)).toEqual([
      ...Array(9).fill(120),
      600,
    ]);
    expect(s.phases.filter((p) => p.name === 'ShiftTraffic')).toHaveLength(10);
    // No database: the grace runs from green's stability (its deployment-completed event), so the
    // event's delivery delay and the re-check do not push the health check back.
    expect(completedAt, 'the deployment-completed event').toBeGreaterThan(0);
    const resumed = Date.parse(s.phases.find((p) => p.name === 'WaitForServiceStable')?.endedAt ?? '');
    const checked = Date.parse(s.phases.find((p) => p.name === 'CheckHealth')?.startedAt ?? '');
    expect(resumed - completedAt).toBeGreaterThan(300);
    expect(checked - completedAt - 30_000).toBeGreaterThanOrEqual(0);
    // check-health's first invocation starts cold: its init comes before the step begins.
    expect(checked - completedAt - 30_000).toBeLessThan(INIT_MS + 100);
    // 9 steps × 2 min + 10 min warm bake on top of deploy and health checks.
    expect(s.virtualSeconds).toBeGreaterThan(28 * 60);
    settledClean(s);
  });

  it('freeze: no weight moves inside the Friday 17:00-20:00 Berlin window; the release waits, then promotes', async () => {
    const s = await runScenario('freeze', { targetsFile });
    expect(s.outcome).toBe('Promoted');
    const shifts = s.phases.filter((p) => p.name === 'ShiftTraffic');
    expect(shifts[0]?.detail).toMatch(
      /held by freeze window "Friday evening change freeze" until 2026-01-09T19:00:00.000Z/,
    );
    const moved = shifts.filter((p) => p.detail?.startsWith('step '));
    expect(moved).toHaveLength(1);
    // 20:00 in Berlin is 19:00 UTC in January.
    expect(Date.parse(moved[0]?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse('2026-01-09T19:00:00Z'));
    expect(s.trafficSteps).toEqual([100]);
    settledClean(s);
  });

  it('an alarm during the old-colour-warm bake after 100% still rolls back to the warm blue', async () => {
    const s = await runRelease(
      'warm-bake-alarm',
      {
        description: 'all-at-once; v2 fails 5% of requests, above the 1% alarm threshold',
        target: 'checkout-api',
        faults: { errorRates: { v2: 0.05 } },
        expect: 'RolledBack',
      },
      { targetsFile },
    );
    expect(s).toMatchObject({
      outcome: 'RolledBack',
      trafficSteps: [100, 0],
      weights: { blue: 100, green: 0 },
      tasks: { blue: 4, green: 0 },
    });
    expect(s.timeToRollbackSeconds).toBeLessThanOrEqual(2);
    // Blue was never scaled down: the rollback was one verified weight change.
    expect(s.phases.map((p) => p.name)).not.toContain('ScaleDownOldColour');
    settledClean(s);
  });

  it('an alarm already firing stops the release before any traffic moves → Aborted', async () => {
    const s = await runRelease(
      'alarm-before-shift',
      {
        description: 'blue itself fails 3% of requests, so the alarm is in ALARM before traffic moves',
        target: 'payments-api',
        faults: { errorRates: { v1: 0.03 } },
        expect: 'Aborted',
      },
      { targetsFile },
    );
    expect(s).toMatchObject({
      outcome: 'Aborted',
      trafficSteps: [],
      weights: { blue: 100, green: 0 },
      tasks: { blue: 4, green: 0 },
      error: { Cause: expect.stringContaining('alarm "payments-api-5xx" is in ALARM') },
    });
    settledClean(s);
  });
});

describe('ops rollback scenarios', () => {
  it('during the warm bake: the release stops itself, traffic back on warm blue in one weight change', async () => {
    const s = await runScenario('ops-rollback-fast', { targetsFile });
    expect(s).toMatchObject({
      outcome: 'RolledBack',
      releaseOutcome: 'RolledBack',
      rollback: { outcome: 'RolledBack', path: 'none', rollbackOf: s.releaseId },
      weights: { blue: 100, green: 0 },
      tasks: { blue: 4, green: 0 },
      // 100% to green by the release, then one change back: no second shift by the rollback.
      trafficSteps: [100, 0],
      lockHeldBy: null,
      error: { Error: 'RollbackRequested', Cause: expect.stringContaining('checkout latency regression') },
    });
    expect(s.timeToRollbackSeconds).toBeLessThanOrEqual(2);
    expect(s.notifications.slice(-2)).toEqual([
      expect.stringContaining('v2: RolledBack'),
      expect.stringContaining('rollback: RolledBack'),
    ]);
  });

  it('after promotion, with blue scaled down: redeploys the last good task definition, then shifts', async () => {
    const s = await runScenario('ops-rollback-slow', { targetsFile });
    expect(s).toMatchObject({
      outcome: 'RolledBack',
      releaseOutcome: 'Promoted',
      rollback: { outcome: 'RolledBack', path: 'slow', rollbackOf: s.releaseId },
      weights: { blue: 100, green: 0 },
      tasks: { blue: 4, green: 0 },
      lockHeldBy: null,
    });
    // Deploy + stabilise + grace + health check: minutes, not seconds, and reported as such.
    expect(s.timeToRollbackSeconds).toBeGreaterThan(60);
    // During the incident: v2's 5xx alarm was firing when the command came, and did not hold it up.
    const fired = s.alarms.find((a) => a.state === 'ALARM');
    expect(fired?.atSeconds).toBeLessThanOrEqual(s.commandAtSeconds ?? 0);
  });
});

describe('notifications', () => {
  it('go to SNS, Slack and Teams on start, on each traffic step and on the outcome', async () => {
    const s = await runScenario('happy', { targetsFile });
    expect(s.notifications).toHaveLength(3);
    expect(s.webhooks.map((w) => w.path).sort()).toEqual([
      ...Array(3).fill('/slack/checkout-api'),
      ...Array(3).fill('/teams/checkout-api'),
    ]);
    expect(s.notificationFailures).toBe(0);
  });

  it('a failing Slack webhook never fails the release: the rest are delivered, the failures counted', async () => {
    const s = await runRelease(
      'slack-down',
      {
        description: 'happy, with the Slack app answering 500',
        target: 'checkout-api',
        failingWebhooks: ['/slack/checkout-api'],
        expect: 'Promoted',
      },
      { targetsFile },
    );
    expect(s.outcome).toBe('Promoted');
    expect(s.notificationFailures).toBe(3);
    expect(s.webhooks.filter((w) => w.path === '/teams/checkout-api' && w.status === 200)).toHaveLength(3);
    expect(s.notifications).toHaveLength(3);
    expect(s.phases.find((p) => p.name === 'Notify')?.detail).toMatch(
      /^"\[switchyard\] checkout-api \(prod\) v2: Promoted" sent on sns, eventbridge, teams; failed: slack \(HTTP 500 internal_error\)$/,
    );
  });
});
