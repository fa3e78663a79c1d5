/**
 * Same seed, same figures: the bench and the demo print virtual times that a second run must repeat.
 * The simulated account draws each call's latency from the seeded stream; calls a step makes side
 * by side reach it after as many microtask turns as their SDK middleware takes, which differs the
 * first time a client is used in a process. So the first release in a process drew its latencies in
 * another order than the same release run again (`npm run bench -- --scenario 'group rollback
 * (worker fails)'` printed "deterministic: NO").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

/** The latency the account drew for each call, the calls arriving at one instant in `order`. */
const drawnIn = async (order: ('ListTasks' | 'DescribeServices')[]) => {
  w = await startWorld({ seed: 7 });
  const world = w;
  const before = world.rt.account.callLog.length;
  const input = {
    ListTasks: { cluster: 'prod', serviceName: 'checkout-api-blue' },
    DescribeServices: { cluster: 'prod', services: ['checkout-api-blue'] },
  };
  await world.rt.until(
    Promise.all(order.map((op) => world.rt.account.handle('ECSClient', `${op}Command`, input[op]))),
  );
  const calls = world.rt.account.callLog.slice(before);
  const drawn = Object.fromEntries(calls.map((c) => [c.call, c.ms]));
  await world.rt.dispose();
  w = undefined;
  return drawn;
};

describe('same seed, same figures', () => {
  it('calls made at one instant draw their latencies by what they are, not by the order they arrive in', async () => {
    const first = await drawnIn(['ListTasks', 'DescribeServices']);
    const second = await drawnIn(['DescribeServices', 'ListTasks']);
    // Two different draws (else the order could not show), each given to the same call both times.
    expect(first['ECS.ListTasks']).not.toBe(first['ECS.DescribeServices']);
    expect(second).toEqual(first);
  });
});
