/** What approvers read about the new colour's health and what analysis will judge (issues 14, 16). */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analysisDetails } from '../../functions/shared/analysis/text.ts';
import { findTarget, loadTargetsFile } from '../../functions/shared/config.ts';
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

describe('analysis in the approval request and the plan', () => {
  const file = fileURLToPath(new URL('../fixtures/targets-analysis.json', import.meta.url));
  const targets = loadTargetsFile(file);

  it('names the checks that judge test traffic before any weight moves, and those of every bake', () => {
    expect(analysisDetails(findTarget(targets, 'shop-load'))).toEqual({
      'Analysis before traffic':
        "load-p95: p95 latency ≤ 2000 ms; load-errors: error rate ≤ 5.00%; load-rate: request rate ≥ 10 req/s (thresholds on the test listener's traffic, the preTraffic hooks' included, before any weight moves)",
      'Analysis in each bake':
        'p95-latency: p95 latency ≤ 2000 ms, no worse than the old colour (98% confidence, tolerance 15%); server-errors: 5xx share ≤ 5 %; mean-latency: mean latency no worse than the old colour (98% confidence, tolerance 15%)',
    });
  });

  it('says why nothing is judged before traffic, never leaving it out', () => {
    const api = findTarget(targets, 'shop-api');
    expect(analysisDetails(api)['Analysis before traffic']).toBe(
      'none: no check has when: ["test-traffic"], so analysis first judges real traffic in the first bake',
    );
    expect(
      analysisDetails({ ...api, traffic: { ...api.traffic, testListenerArn: undefined } })[
        'Analysis before traffic'
      ],
    ).toBe('none: no test listener, so analysis first judges real traffic in the first bake');
    expect(analysisDetails({ ...api, analysis: undefined })).toEqual({});
  });
});
