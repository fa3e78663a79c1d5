/**
 * Fault matrix, analysis (test/fixtures/targets-analysis.json, a 10% canary judged on real
 * traffic): AnalyseBake × every step fault; GetMetricData throttled or failing for the bake's
 * watch and at its end; missing data. Each case ends as it would have without the fault, with I1-I7.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTarget } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';
import { runIn, stepFaults } from '../support/fault-matrix.ts';

const targetsFile = fileURLToPath(new URL('../fixtures/targets-analysis.json', import.meta.url));

const analysisCase = async (name: string, faults: FaultPlan, expected: string, targetName = 'shop-api') => {
  const rt = await LocalRuntime.start({ targetsFile, faults }, async (r) => {
    const target = findTarget(r.targets, targetName);
    buildWorld(r.account, target, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
    await serveTestListener(r.account, target);
  });
  const target = findTarget(rt.targets, targetName);
  const id = releaseIdFor(targetName, EcrModel.digestOf(targetName, 'v2'));
  return runIn(name, { rt, target }, expected, async () => {
    rt.push(targetName, 'v2');
    await rt.settle();
    const record = await rt.release(id);
    return { ids: [id], outcome: record?.outcome };
  });
};

const getMetricData = (
  folder: string,
  fault: { error: string; status: number },
  times: number,
): FaultPlan => ({
  api: [{ service: 'CloudWatch', operation: 'GetMetricData', folder, ...fault, times }],
});

describe('fault matrix: AnalyseBake', () => {
  it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('healthy canary + %s', async (fault) => {
    const result = await analysisCase(`AnalyseBake × ${fault}`, stepFaults[fault]('AnalyseBake'), 'Promoted');
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Promoted');
  });
});

/** shop-load: a k6 load test judged on the test listener's traffic before any weight moves. */
describe('fault matrix: AnalyseTestTraffic', () => {
  it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('healthy load test + %s', async (fault) => {
    const result = await analysisCase(
      `AnalyseTestTraffic × ${fault}`,
      stepFaults[fault]('AnalyseTestTraffic'),
      'Promoted',
      'shop-load',
    );
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Promoted');
  });

  it.each([
    [
      'its read throttled',
      getMetricData('analyse-test-traffic', { error: 'Throttling', status: 400 }, 3),
      'Promoted',
    ],
    // A fifth of the minutes lost: the load test's other minutes still decide.
    ['missing data (a fifth of the datapoints)', { missingMetrics: 0.2 }, 'Promoted'],
  ] as [string, FaultPlan, string][])('%s', async (name, faults, expected) => {
    const result = await analysisCase(`test traffic × ${name}`, faults, expected, 'shop-load');
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe(expected);
  });
});

describe('fault matrix: reading the metrics', () => {
  it.each([
    [
      'the watch throttled (every tick for 10 minutes)',
      getMetricData('reconciler', { error: 'Throttling', status: 400 }, 10),
      'Promoted',
      {},
    ],
    [
      'the watch failing with 5xx',
      getMetricData('reconciler', { error: 'InternalServiceError', status: 500 }, 10),
      'Promoted',
      {},
    ],
    [
      'the end-of-bake read throttled',
      getMetricData('analyse-bake', { error: 'Throttling', status: 400 }, 3),
      'Promoted',
      {},
    ],
    // A regression is still caught when the watch cannot read: AnalyseBake judges the whole bake.
    [
      'a regression while the watch is throttled',
      getMetricData('reconciler', { error: 'Throttling', status: 400 }, 1000),
      'RolledBack',
      { latencyMs: { v2: 300 } },
    ],
    ['missing data (a fifth of the datapoints)', {}, 'Promoted', { missingMetrics: 0.2 }],
  ] as [string, FaultPlan, string, FaultPlan][])('%s', async (name, faults, expected, world) => {
    const result = await analysisCase(`metrics × ${name}`, { ...world, ...faults }, expected);
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe(expected);
  });
});
