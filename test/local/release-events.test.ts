/**
 * Switchyard's own events: each state a release reaches is published on its bus as
 * `Switchyard Release State Change`, and publishing never changes a release's course.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultPlan } from '../../local/faults.ts';
import { EVENT_BUS } from '../../local/runtime.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});
const world = async (faults?: FaultPlan) => {
  w = await startWorld({ faults });
  return w;
};
const states = (t: TestWorld) =>
  t.rt.account.eventbridge.published.filter(
    (e) => e.bus === EVENT_BUS && e.detailType === 'Switchyard Release State Change',
  );

describe("Switchyard's release events", () => {
  it('a release publishes Started, TrafficShifted per step and Promoted, in order, on its own bus', async () => {
    const t = await world();
    t.rt.push('search-api', 'release-2');
    await t.rt.settle();
    const published = states(t);
    expect(published.map((e) => [e.detail.state, e.detail.percent ?? null])).toEqual([
      ['Started', null],
      ['TrafficShifted', 100],
      ['Promoted', null],
    ]);
    const [started] = published;
    expect(started?.source).toBe('switchyard');
    expect(started?.detail).toMatchObject({
      version: 1,
      target: 'search-api',
      environment: 'staging',
      image: { repository: 'search-api', tag: 'release-2' },
      strategy: 'all-at-once',
      steps: [100],
    });
    expect(String(started?.detail.releaseId)).toMatch(/^search-api-[0-9a-f]{12}$/);
    // A rule on the bus sees them as any EventBridge event.
    expect(t.rt.bus.emitted.filter((e) => e.source === 'switchyard').length).toBe(published.length);
  });

  it('an aborted release publishes its outcome with the reason', async () => {
    const t = await world({ unhealthyTags: ['v2'] });
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    const last = states(t).at(-1);
    expect(last?.detail).toMatchObject({ state: 'Aborted', error: { name: 'DeploymentFailed' } });
  });

  it('publishing that fails (throttled calls, refused entries) never changes the outcome; it is counted', async () => {
    const t = await world({
      api: [
        {
          service: 'EventBridge',
          operation: 'PutEvents',
          error: 'InternalFailure',
          status: 500,
          times: 1000,
        },
      ],
    });
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    const record = await t.rt.release(t.rt.executions()[0]?.name ?? '');
    expect(record?.outcome).toBe('Promoted');
    expect(record?.notificationFailures).toBeGreaterThanOrEqual(3);
    expect(record?.notice?.failed.some((f) => f.startsWith('eventbridge'))).toBe(true);
    expect(states(t)).toEqual([]);
  });

  it('a bus that is gone refuses each entry (FailedEntryCount), not the call: not sent again, counted', async () => {
    const u = await world();
    u.rt.account.eventbridge.buses.delete(EVENT_BUS);
    u.rt.push('checkout-api', 'v2');
    await u.rt.settle();
    const second = await u.rt.release(u.rt.executions()[0]?.name ?? '');
    expect(second?.outcome).toBe('Promoted');
    // Refused for good (the bus is gone): not sent again, counted at once.
    expect(second?.notice?.failed.join()).toContain(
      'eventbridge (PutEvents refused the Promoted event (ResourceNotFoundException: Event bus switchyard-releases does not exist.))',
    );
  });

  it('a PutEvents that hangs is given up after 3 s: the release is not held up, the failure counted', async () => {
    const t = await world({
      api: [
        {
          service: 'EventBridge',
          operation: 'PutEvents',
          error: 'TimeoutError',
          mode: 'timeout',
          times: 1000,
        },
      ],
    });
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    const record = await t.rt.release(t.rt.executions()[0]?.name ?? '');
    expect(record?.outcome).toBe('Promoted');
    expect(record?.notice?.failed.join()).toContain('eventbridge (PutEvents did not answer within 3000 ms)');
    // Each step waited 3 s at most for it: Validate was not retried (its own timeout is 30 s).
    expect(record?.phases.filter((p) => p.name === 'Validate')).toHaveLength(1);
  });

  it('copies of one state change carry the same eventId, so a consumer can drop duplicates', async () => {
    const t = await world({
      api: [
        {
          service: 'EventBridge',
          operation: 'PutEvents',
          error: 'TimeoutError',
          mode: 'timeout',
          times: 1,
        },
      ],
    });
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    const published = states(t);
    const ids = published.map((e) => e.detail.eventId);
    // The first call took effect but its answer was lost: the SDK sent it again.
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
    expect(ids.at(-1)).toMatch(/^checkout-api-[0-9a-f]{12}:Promoted$/);
  });
});
