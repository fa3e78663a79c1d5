/** The simulated account's API rate limiter: token buckets in virtual time. */
import { describe, expect, it } from 'vitest';
import { publishedRateLimits, RateLimiter } from '../../local/account/rate-limits.ts';

describe('RateLimiter', () => {
  const limiter = () =>
    new RateLimiter([
      { service: 'ELBv2', operations: /^Describe/, burst: 40, perSecond: 10, source: 'test' },
    ]);

  it('answers a burst up to the bucket size, then throttles until tokens refill at the sustained rate', () => {
    const l = limiter();
    const at = 1_000_000;
    const burst = Array.from({ length: 45 }, () => l.take('ELBv2', 'DescribeRules', at));
    expect(burst.filter(Boolean)).toHaveLength(40);
    expect(l.throttled.get('ELBv2.DescribeRules')).toBe(5);
    // 0.5 s later: 5 tokens back.
    expect(
      Array.from({ length: 6 }, () => l.take('ELBv2', 'DescribeRules', at + 500)).filter(Boolean),
    ).toHaveLength(5);
    // Long idle: refilled to the burst, not beyond it.
    expect(
      Array.from({ length: 50 }, () => l.take('ELBv2', 'DescribeTargetHealth', at + 60_000)).filter(Boolean),
    ).toHaveLength(40);
  });

  it('leaves calls outside every bucket alone', () => {
    const l = limiter();
    for (let i = 0; i < 100; i++) {
      expect(l.take('ELBv2', 'ModifyRule', 0)).toBe(true);
      expect(l.take('ECS', 'DescribeServices', 0)).toBe(true);
    }
    expect(l.throttled.size).toBe(0);
  });
});

describe('published ECS limits', () => {
  it('give each action category its own bucket, as the request-throttling table does', () => {
    const l = new RateLimiter(publishedRateLimits);
    const at = 2_000_000;
    // Task definition modify: 20 burst, 1 per second.
    const registers = Array.from({ length: 25 }, () => l.take('ECS', 'RegisterTaskDefinition', at));
    expect(registers.filter(Boolean)).toHaveLength(20);
    expect(l.take('ECS', 'RegisterTaskDefinition', at + 1000)).toBe(true);
    expect(l.take('ECS', 'RegisterTaskDefinition', at + 1000)).toBe(false);
    // Service reads (100 burst) and service modify (50 burst) are separate buckets.
    const reads = Array.from({ length: 101 }, () => l.take('ECS', 'DescribeServices', at));
    expect(reads.filter(Boolean)).toHaveLength(100);
    const updates = Array.from({ length: 51 }, () => l.take('ECS', 'UpdateService', at));
    expect(updates.filter(Boolean)).toHaveLength(50);
    expect(l.take('ECS', 'DescribeTaskDefinition', at)).toBe(true);
  });
});
