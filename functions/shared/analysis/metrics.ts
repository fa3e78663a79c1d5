/**
 * Reads an analysis window from CloudWatch with one GetMetricData call: each check's series for
 * each colour, one value per period. The built-in metrics are the ALB's per-target-group metrics
 * (AWS/ApplicationELB, dimensions TargetGroup and LoadBalancer): TargetResponseTime percentiles (in
 * seconds: read as ms), HTTPCode_Target_5XX_Count / RequestCount (a count of zero has no datapoint,
 * so FILL(…, 0)), and RequestCount per second.
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { Colour } from '../vocabulary.ts';
import { type Analysis, type AnalysisCheck, BuiltInMetric } from './config.ts';
import type { Samples } from './judge.ts';

/** Samples judged per colour at most: the latest hour of one-minute periods. */
export const MAX_SAMPLES = 60;

/** What the ALB's metrics are keyed by: the load balancer, and each colour's target group. */
export interface Sources {
  /** `app/<name>/<id>`, from the listener's or rule's ARN. */
  loadBalancer: string;
  targetGroups: Record<Colour, string>;
}

/** `app/<name>/<id>` of the load balancer a listener or listener rule belongs to. */
export const loadBalancerOf = (listenerOrRuleArn: string): string =>
  listenerOrRuleArn.match(/:listener(?:-rule)?\/(app\/[^/]+\/[^/]+)\//)?.[1] ?? '';

/** A target's sources: its rule's (or listener's) load balancer and its two target groups. */
export const sourcesOf = (target: {
  traffic: {
    listenerRuleArn?: string | undefined;
    listenerArn?: string | undefined;
    targetGroups: Record<Colour, string>;
  };
}): Sources => ({
  loadBalancer: loadBalancerOf(target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? ''),
  targetGroups: target.traffic.targetGroups,
});

/** `targetgroup/<name>/<id>` of a target group ARN (the TargetGroup dimension). */
export const targetGroupDimension = (arn: string): string => arn.split(':').at(-1) ?? '';

const queriesFor = (
  check: AnalysisCheck,
  id: string,
  colour: Colour,
  sources: Sources,
  period: number,
): MetricDataQuery[] => {
  const alb = (name: string, stat: string, qid: string, returnData: boolean): MetricDataQuery => ({
    Id: qid,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/ApplicationELB',
        MetricName: name,
        Dimensions: [
          { Name: 'TargetGroup', Value: targetGroupDimension(sources.targetGroups[colour]) },
          { Name: 'LoadBalancer', Value: sources.loadBalancer },
        ],
      },
      Period: period,
      Stat: stat,
    },
    ReturnData: returnData,
  });
  if (typeof check.metric !== 'string' && 'expression' in check.metric) {
    // Each named metric under an id of this check's own (`c0n_errors`), the expression rewritten to
    // them: ids start lowercase and Metric Math's functions are upper case, so only ids are renamed.
    const own = (name: string) => `${id}_${name}`;
    const named = Object.entries(check.metric.metrics).map(
      ([name, m]): MetricDataQuery =>
        'alb' in m
          ? { ...alb(m.alb, m.stat, own(name), false) }
          : {
              Id: own(name),
              MetricStat: {
                Metric: {
                  Namespace: m.namespace,
                  MetricName: m.name,
                  Dimensions: Object.entries(m.colourDimensions?.[colour] ?? m.dimensions ?? {}).map(
                    ([Name, Value]) => ({ Name, Value }),
                  ),
                },
                Period: period,
                Stat: m.stat,
              },
              ReturnData: false,
            },
    );
    const metrics = check.metric.metrics;
    return [
      ...named,
      {
        Id: id,
        Expression: check.metric.expression.replace(/\b[a-z][A-Za-z0-9_]*\b/g, (word) =>
          Object.hasOwn(metrics, word) ? own(word) : word,
        ),
        ReturnData: true,
      },
    ];
  }
  if (typeof check.metric !== 'string') {
    const dims = check.metric.colourDimensions?.[colour] ?? check.metric.dimensions ?? {};
    return [
      {
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: check.metric.namespace,
            MetricName: check.metric.name,
            Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: period,
          Stat: check.metric.stat,
        },
      },
    ];
  }
  switch (check.metric) {
    case 'error-rate':
      return [
        alb('HTTPCode_Target_5XX_Count', 'Sum', `${id}e`, true),
        alb('RequestCount', 'Sum', `${id}r`, true),
        { Id: id, Expression: `FILL(${id}e, 0) / ${id}r`, ReturnData: true },
      ];
    case 'request-rate':
      return [alb('RequestCount', 'Sum', id, true)];
    default:
      return [alb('TargetResponseTime', BuiltInMetric[check.metric].stat, id, true)];
  }
};

export interface Window {
  start: Date;
  end: Date;
}

/** Every series of `queries` over `window`, all pages (and each value's time, when `times` is given). */
const read = async (
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  queries: MetricDataQuery[],
  window: Window,
  series: Map<string, number[]>,
  times?: Map<string, number[]>,
) => {
  let token: string | undefined;
  do {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: window.start,
        EndTime: window.end,
        ScanBy: 'TimestampAscending',
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const r of out.MetricDataResults ?? []) {
      series.set(r.Id ?? '', [...(series.get(r.Id ?? '') ?? []), ...(r.Values ?? [])]);
      times?.set(r.Id ?? '', [
        ...(times.get(r.Id ?? '') ?? []),
        ...(r.Timestamps ?? []).map((t) => new Date(t).getTime()),
      ]);
    }
    token = out.NextToken;
  } while (token);
};

/** A check's values over time, each colour's: what the dashboard draws while a release runs. */
export interface CheckSeries {
  check: string;
  /** `[epoch ms, value]`, oldest first, in the check's unit (ms for latency, a ratio, req/s). */
  canary: [number, number][];
  baseline: [number, number][];
}

/**
 * Each check's series for both colours over one window (one GetMetricData, all pages): the
 * per-period values the judge samples, with their times.
 */
export const readSeries = async (
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  analysis: Analysis,
  sources: Sources,
  colours: { canary: Colour; baseline: Colour },
  window: Window,
): Promise<CheckSeries[]> => {
  const period = analysis.periodSeconds;
  const queries = queriesOf(analysis, sources, colours);
  const series = new Map<string, number[]>();
  const times = new Map<string, number[]>();
  await read(cloudwatch, [...queries.canary, ...queries.baseline], window, series, times);
  return analysis.checks.map((check, i) => {
    const points = (id: string): [number, number][] =>
      (series.get(id) ?? [])
        .map((v, k): [number, number] => [times.get(id)?.[k] ?? 0, scaleOf(check, period)(v)])
        .sort((a, b) => a[0] - b[0]);
    const { canary, baseline } = idsOf(i);
    return { check: check.name, canary: points(canary), baseline: points(baseline) };
  });
};

/** Check `i`'s query ids: `c0n` for the new colour, `c0o` for the old. */
const idsOf = (i: number) => ({ canary: `c${i}n`, baseline: `c${i}o` });

/** Every check's queries, for each colour. */
const queriesOf = (analysis: Analysis, sources: Sources, colours: { canary: Colour; baseline: Colour }) => ({
  canary: analysis.checks.flatMap((check, i) =>
    queriesFor(check, idsOf(i).canary, colours.canary, sources, analysis.periodSeconds),
  ),
  baseline: analysis.checks.flatMap((check, i) =>
    queriesFor(check, idsOf(i).baseline, colours.baseline, sources, analysis.periodSeconds),
  ),
});

/** A check's raw CloudWatch value in its own unit: latency in ms, a request count per second. */
const scaleOf =
  (check: AnalysisCheck, period: number) =>
  (v: number): number =>
    typeof check.metric !== 'string'
      ? v
      : check.metric.startsWith('latency')
        ? v * 1000
        : check.metric === 'request-rate'
          ? v / period
          : v;

/**
 * Each check's samples, the new colour over `windows.canary` against the old colour over
 * `windows.baseline`: the same window while both serve, the previous step's at 100% (when the old
 * colour serves nothing). One GetMetricData per distinct window.
 */
export const readSamples = async (
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  analysis: Analysis,
  sources: Sources,
  colours: { canary: Colour; baseline: Colour },
  windows: { canary: Window; baseline: Window },
  /**
   * A request rate's window value: all requests over the whole window (real users, whose idle
   * minutes count), or its busiest period (a load test's rate is what it reached in a full minute:
   * the minutes it started and stopped in hold only part of it, and those before and after none).
   */
  rate: 'window' | 'busiest-period' = 'window',
): Promise<Samples[]> => {
  const period = analysis.periodSeconds;
  const { canary: canaryQueries, baseline: baselineQueries } = queriesOf(analysis, sources, colours);
  const series = new Map<string, number[]>();
  const same =
    windows.canary.start.getTime() === windows.baseline.start.getTime() &&
    windows.canary.end.getTime() === windows.baseline.end.getTime();
  if (same) await read(cloudwatch, [...canaryQueries, ...baselineQueries], windows.canary, series);
  else {
    await read(cloudwatch, canaryQueries, windows.canary, series);
    await read(cloudwatch, baselineQueries, windows.baseline, series);
  }
  const seconds = (w: Window) => (w.end.getTime() - w.start.getTime()) / 1000;
  return analysis.checks.map((check, i) => {
    const { canary, baseline } = idsOf(i);
    const scale = scaleOf(check, period);
    // The most recent MAX_SAMPLES periods: a long hold is judged on its last hour, not its whole life.
    const of = (id: string) => (series.get(id) ?? []).slice(-MAX_SAMPLES).map(scale);
    const sum = (id: string) => (series.get(id) ?? []).reduce((s, v) => s + v, 0);
    // The whole window's error rate: all errors over all requests (not a mean of per-period rates).
    const ratio = (id: string) => {
      const requests = sum(`${id}r`);
      return requests > 0 ? sum(`${id}e`) / requests : undefined;
    };
    const busiest = (id: string) => {
      const rates = of(id);
      return rates.length ? Math.max(...rates) : undefined;
    };
    // The whole window's request rate: a minute without requests has no datapoint (ALB metrics
    // reference), so a mean of the datapoints would leave idle minutes out.
    const windowRate = (id: string, w: Window) => (seconds(w) > 0 ? sum(id) / seconds(w) : undefined);
    return {
      canary: of(canary),
      baseline: of(baseline),
      ...(check.metric === 'error-rate'
        ? { canaryValue: ratio(canary), baselineValue: ratio(baseline) }
        : {}),
      ...(check.metric === 'request-rate'
        ? rate === 'window'
          ? {
              canaryValue: windowRate(canary, windows.canary),
              baselineValue: windowRate(baseline, windows.baseline),
            }
          : { canaryValue: busiest(canary), baselineValue: busiest(baseline) }
        : {}),
    };
  });
};
