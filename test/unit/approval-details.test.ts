/** What approvers read about the new colour's health: each value against its limit (issue 14). */
import { describe, expect, it } from 'vitest';
import { healthDetails } from '../../functions/shared/health-text.ts';

const limits = { p95Ms: 500, errorRate: 0.01 };

describe('health in the approval request', () => {
  it('shows each probe measure with its limit and a verdict, not the raw JSON', () => {
    const shown = healthDetails(
      { healthyTargets: 4, probes: { count: 20, p95Ms: 612, errorRate: 0 } },
      limits,
    );
    expect(shown).toEqual({
      'Healthy targets': '4',
      'p95 latency (20 probes)': '612 ms, limit 500 ms: FAIL',
      'Error rate (20 probes)': '0.0%, limit 1.0%: pass',
    });
    expect(JSON.stringify(shown)).not.toContain('{"count"');
  });

  it('says when there were no probes (no test listener) instead of leaving the row out', () => {
    expect(healthDetails({ healthyTargets: 2 }, limits)).toEqual({
      'Healthy targets': '2',
      Probes: 'none: no test listener, so only the target group health checks judged the new colour',
    });
  });
});
