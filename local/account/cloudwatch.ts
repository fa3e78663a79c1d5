/**
 * Simulated CloudWatch alarms. An alarm may watch a listener's 5xx rate: every minute (one period,
 * 1 of 1 datapoints) it judges the share of requests the listener's weighted target groups answered
 * with errors in the minute before (a minute is published once it has ended), and moves to ALARM
 * above its threshold, back to OK below. Every state change emits
 * the `CloudWatch Alarm State Change` event as AWS does (see shared/reference/events).
 */
import type { EventBus } from '../bus.ts';
import { awsError } from './errors.ts';
import { type Datapoint, METRIC_PERIOD_SECONDS, type TrafficModel } from './traffic.ts';

interface MetricQuery {
  Id?: string;
  Expression?: string;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] };
    Period?: number;
    Stat?: string;
  };
  ReturnData?: boolean;
  Label?: string;
}
type Series = Map<number, number>;

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/**
 * What an alarm measures on a listener's (or rule's) traffic: the share of 5xx (ALARM above
 * `thresholdPercent`), or the p95 of TargetResponseTime over its target groups (ALARM above
 * `thresholdMs`; needs the listener served real traffic, TrafficModel). Each kind follows its own
 * metric: a latency alarm never sees errors, a 5xx alarm never sees latency.
 */
export type AlarmMetric =
  | { where: string; kind?: '5xx'; thresholdPercent: number }
  | { where: string; kind: 'latency-p95'; thresholdMs: number };

interface SimAlarm {
  name: string;
  arn: string;
  state: AlarmState;
  reason: string;
  updatedAt: Date;
  metric?: AlarmMetric;
}

export const PERIOD_SECONDS = 60;

export class CloudWatchModel {
  readonly alarms = new Map<string, SimAlarm>();
  /** Every state change, for summaries: virtual time, alarm, new state. */
  readonly history: { at: number; alarm: string; state: AlarmState; from: AlarmState; reason: string }[] = [];
  private evaluator: ReturnType<typeof setInterval> | undefined;
  private notify: (message: string) => void = () => {};

  constructor(
    private readonly bus: EventBus,
    private readonly envelope: { region: string; account: string },
    /** Percent of a listener's requests answered with 5xx right now. */
    private readonly errorPercent: (where: string) => number,
    /** The ALB's per-target-group datapoints (real traffic), for GetMetricData. */
    private readonly traffic?: TrafficModel,
  ) {}

  onChange(listener: (message: string) => void) {
    this.notify = listener;
  }

  addAlarm(name: string, metric?: AlarmMetric) {
    this.alarms.set(name, {
      name,
      arn: `arn:aws:cloudwatch:${this.envelope.region}:${this.envelope.account}:alarm:${name}`,
      state: 'OK',
      reason: 'Threshold Crossed: no datapoints were breaching',
      updatedAt: new Date(),
      metric,
    });
  }

  /** Starts evaluating metric alarms once per period (call when the virtual clock runs). */
  start() {
    if (this.evaluator) return;
    this.evaluator = setInterval(() => this.evaluate(), PERIOD_SECONDS * 1000);
  }

  /** Sets an alarm's state (as `aws cloudwatch set-alarm-state` would) and emits the event if it changed. */
  setState(name: string, state: AlarmState, reason: string) {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new Error(`no alarm ${name}`);
    if (alarm.state === state) return;
    const previous = { value: alarm.state, reason: alarm.reason, timestamp: alarm.updatedAt.toISOString() };
    alarm.state = state;
    alarm.reason = reason;
    alarm.updatedAt = new Date();
    this.history.push({ at: Date.now(), alarm: name, state, from: previous.value, reason });
    this.notify(`alarm ${name} ${state}`);
    this.bus.emit('aws.cloudwatch', 'CloudWatch Alarm State Change', [alarm.arn], {
      alarmName: name,
      configuration: { description: `Switchyard simulated alarm on ${alarm.metric?.where ?? 'a metric'}` },
      previousState: previous,
      state: { value: state, reason, timestamp: alarm.updatedAt.toISOString() },
    });
  }

  /**
   * The p95 (ms) of a listener's requests in its latest visible minute (all its target groups'
   * requests pooled); undefined without data (no request, or not yet in CloudWatch).
   */
  private latencyP95Ms(where: string): number | undefined {
    const now = Date.now();
    const point = (this.traffic?.listenerP95.get(where) ?? []).filter((p) => p.visibleAt <= now).at(-1);
    return point && point.at >= now - 3 * PERIOD_SECONDS * 1000 ? point.p95Ms : undefined;
  }

  /** Each 5xx alarm's listener share at the last evaluation: the minute the next one judges. */
  private readonly lastMinute = new Map<string, number>();

  /** One period: each metric alarm compares its own metric of its listener with its threshold. */
  evaluate() {
    for (const alarm of this.alarms.values()) {
      if (!alarm.metric) continue;
      if (alarm.metric.kind === 'latency-p95') {
        // Missing data keeps the alarm's state (TreatMissingData "missing" holds it for a while).
        const p95 = this.latencyP95Ms(alarm.metric.where);
        if (p95 === undefined) continue;
        const seconds = Math.round(p95) / 1000;
        const breaching = p95 > alarm.metric.thresholdMs;
        const reason = `Threshold Crossed: 1 out of the last 1 datapoints [${seconds}] was ${breaching ? '' : 'not '}greater than the threshold (${alarm.metric.thresholdMs / 1000})`;
        this.setState(alarm.name, breaching ? 'ALARM' : 'OK', reason);
        continue;
      }
      // The minute that ended a period ago: ALB "measures and sends its metrics in 60-second
      // intervals" (ELB docs, CloudWatch metrics for your Application Load Balancer), so an alarm
      // sees a minute only once it has ended and been published, a period after it at the soonest.
      const previous = this.lastMinute.get(alarm.name);
      this.lastMinute.set(alarm.name, this.errorPercent(alarm.metric.where));
      if (previous === undefined) continue;
      const value = Math.round(previous * 100) / 100;
      const breaching = value > alarm.metric.thresholdPercent;
      const reason = `Threshold Crossed: 1 out of the last 1 datapoints [${value}] was ${breaching ? '' : 'not '}greater than the threshold (${alarm.metric.thresholdPercent})`;
      this.setState(alarm.name, breaching ? 'ALARM' : 'OK', reason);
    }
  }

  // --- API --------------------------------------------------------------------------------

  /**
   * State updates of one alarm between two times, as DescribeAlarmHistory answers them: newest first
   * by default, at most MaxRecords (1-100) per page, HistoryData a JSON document with old and new
   * state (CloudWatch API reference, DescribeAlarmHistory). CloudWatch keeps 30 days of history.
   */
  DescribeAlarmHistory(input: {
    AlarmName?: string;
    HistoryItemType?: string;
    StartDate?: Date;
    EndDate?: Date;
    MaxRecords?: number;
    ScanBy?: 'TimestampAscending' | 'TimestampDescending';
    NextToken?: string;
  }) {
    const max = input.MaxRecords ?? 100;
    if (max < 1 || max > 100) throw awsError('InvalidParameterValue', 'MaxRecords must be between 1 and 100');
    const from = input.StartDate ? new Date(input.StartDate).getTime() : Number.NEGATIVE_INFINITY;
    const to = input.EndDate ? new Date(input.EndDate).getTime() : Number.POSITIVE_INFINITY;
    const retained = Date.now() - 30 * 24 * 3600_000;
    const all = this.history
      .filter(
        (h) =>
          (!input.AlarmName || h.alarm === input.AlarmName) && h.at >= Math.max(from, retained) && h.at <= to,
      )
      .filter(() => !input.HistoryItemType || input.HistoryItemType === 'StateUpdate')
      .sort((a, b) => (input.ScanBy === 'TimestampAscending' ? a.at - b.at : b.at - a.at));
    // Pages of MaxRecords, the rest behind NextToken (an offset here; opaque in AWS).
    const offset = input.NextToken ? Number.parseInt(input.NextToken, 10) : 0;
    if (Number.isNaN(offset)) throw awsError('InvalidNextToken', 'The service cannot decode the next token');
    const page = all.slice(offset, offset + max);
    return {
      ...(offset + max < all.length ? { NextToken: String(offset + max) } : {}),
      AlarmHistoryItems: page.map((h) => ({
        AlarmName: h.alarm,
        AlarmType: 'MetricAlarm',
        Timestamp: new Date(h.at),
        HistoryItemType: 'StateUpdate',
        HistorySummary: `Alarm updated from ${h.from} to ${h.state}`,
        HistoryData: JSON.stringify({
          version: '1.0',
          oldState: { stateValue: h.from },
          newState: { stateValue: h.state, stateReason: h.reason },
        }),
      })),
    };
  }

  /**
   * Metric data as GetMetricData answers it (CloudWatch API reference): 1-500 queries, each either a
   * MetricStat or a Metric Math expression (here: + - * / with ids, numbers, parentheses, FILL(id, n));
   * a standard-resolution period is a multiple of 60; buckets start at StartTime; a period with no
   * datapoint has no value; timestamps newest first. Only the ALB's per-target-group metrics have
   * data (RequestCount, HTTPCode_Target_2XX_Count and HTTPCode_Target_5XX_Count, TargetResponseTime
   * as p50/p95/p99, Average or SampleCount); any other metric answers no datapoints, as CloudWatch
   * does for a metric nobody wrote (and as ALB does for 3xx/4xx counts the services never answer).
   */
  GetMetricData(input: {
    MetricDataQueries?: MetricQuery[];
    StartTime?: Date;
    EndTime?: Date;
    ScanBy?: string;
  }) {
    const queries = input.MetricDataQueries ?? [];
    if (queries.length < 1 || queries.length > 500)
      throw awsError('ValidationError', 'MetricDataQueries must have between 1 and 500 items.');
    // "Start time less than 15 days ago: round down to the nearest whole minute" (GetMetricData
    // reference, StartTime): the first period of a window begins before the window does.
    const start = Math.floor(new Date(input.StartTime ?? 0).getTime() / 60_000) * 60_000;
    const end = new Date(input.EndTime ?? 0).getTime();
    if (!(start < end))
      throw awsError('ValidationError', 'The parameter StartTime must be less than the parameter EndTime.');
    const series = new Map<string, Series>();
    for (const q of queries) {
      if (!q.Id || !/^[a-z][a-zA-Z0-9_]*$/.test(q.Id))
        throw awsError(
          'ValidationError',
          `The value ${q.Id} for parameter MetricDataQueries.member.Id is not valid.`,
        );
      if ((q.MetricStat === undefined) === (q.Expression === undefined))
        throw awsError(
          'ValidationError',
          'Exactly one of MetricStat and Expression must be set in a MetricDataQuery.',
        );
      if (q.MetricStat) {
        const period = q.MetricStat.Period ?? 0;
        if (!(period >= 60 && period % 60 === 0) && ![1, 5, 10, 20, 30].includes(period))
          throw awsError(
            'ValidationError',
            `The parameter MetricDataQueries.member.MetricStat.Period must be 1, 5, 10, 20, 30, or a multiple of 60 (got ${period}).`,
          );
        series.set(q.Id, this.metricSeries(q.MetricStat, start, end));
      }
    }
    for (const q of queries.filter((x) => x.Expression))
      series.set(q.Id as string, evaluate(q.Expression as string, series));
    const descending = input.ScanBy !== 'TimestampAscending';
    return {
      MetricDataResults: queries
        .filter((q) => q.ReturnData !== false)
        .map((q) => {
          const points = [...(series.get(q.Id as string) ?? new Map()).entries()]
            .filter(([, v]) => Number.isFinite(v))
            .sort((a, b) => (descending ? b[0] - a[0] : a[0] - b[0]));
          return {
            Id: q.Id,
            Label: q.Label ?? q.MetricStat?.Metric?.MetricName ?? q.Id,
            Timestamps: points.map(([t]) => new Date(t)),
            Values: points.map(([, v]) => v),
            StatusCode: 'Complete',
          };
        }),
      Messages: [],
    };
  }

  private metricSeries(stat: NonNullable<MetricQuery['MetricStat']>, start: number, end: number): Series {
    const out: Series = new Map();
    const metric = stat.Metric ?? {};
    const groupDim = metric.Dimensions?.find((d) => d.Name === 'TargetGroup')?.Value;
    const lbDim = metric.Dimensions?.find((d) => d.Name === 'LoadBalancer')?.Value;
    if (metric.Namespace !== 'AWS/ApplicationELB' || !groupDim || !this.traffic) return out;
    const arn = [...this.traffic.datapoints.keys()].find((a) => a.endsWith(`:${groupDim}`));
    const now = Date.now();
    const all = arn ? (this.traffic.datapoints.get(arn) ?? []) : [];
    // Recorded minute after minute, so in time order: the window's first one by bisection (a series
    // grows a point a minute, and a long release asks for its last minutes every minute).
    let first = 0;
    for (let high = all.length; first < high; ) {
      const middle = (first + high) >>> 1;
      if ((all[middle] as Datapoint).at < start) first = middle + 1;
      else high = middle;
    }
    const periodMs = Math.max(METRIC_PERIOD_SECONDS, stat.Period ?? 60) * 1000;
    const buckets = new Map<number, Datapoint[]>();
    for (let i = first; i < all.length; i++) {
      const p = all[i] as Datapoint;
      if (p.at >= end) break;
      // Not yet published, or another series: a series is named by all its dimensions, so the wrong
      // load balancer is another (empty) one.
      if (p.visibleAt > now || (lbDim !== undefined && p.loadBalancer !== lbDim)) continue;
      const bucket = start + Math.floor((p.at - start) / periodMs) * periodMs;
      const list = buckets.get(bucket);
      if (list) list.push(p);
      else buckets.set(bucket, [p]);
    }
    for (const [at, ps] of buckets) {
      const requests = ps.reduce((s, p) => s + p.requests, 0);
      const weighted = (pick: (p: Datapoint) => number) =>
        ps.reduce((s, p) => s + pick(p) * p.requests, 0) / requests;
      // Counts (ALB metrics reference): Sum (and SampleCount) is the count; "Minimum, Maximum, and
      // Average all return 1". The simulated services answer 2xx or 5xx only (no 3xx or 4xx).
      const count = (n: number) =>
        n === 0
          ? undefined
          : ['Minimum', 'Maximum', 'Average'].includes(stat.Stat ?? '')
            ? 1
            : stat.Stat === 'Sum' || stat.Stat === 'SampleCount'
              ? n
              : undefined;
      const errors = ps.reduce((s, p) => s + p.errors, 0);
      const value =
        metric.MetricName === 'RequestCount'
          ? count(requests)
          : metric.MetricName === 'HTTPCode_Target_5XX_Count'
            ? count(errors)
            : metric.MetricName === 'HTTPCode_Target_2XX_Count'
              ? count(requests - errors)
              : metric.MetricName === 'TargetResponseTime' && stat.Stat === 'SampleCount'
                ? requests
                : metric.MetricName === 'TargetResponseTime'
                  ? stat.Stat === 'Average'
                    ? weighted((p) => p.mean)
                    : stat.Stat === 'p50'
                      ? weighted((p) => p.p50)
                      : stat.Stat === 'p95'
                        ? weighted((p) => p.p95)
                        : stat.Stat === 'p99'
                          ? weighted((p) => p.p99)
                          : undefined
                  : undefined;
      // A count of zero is no datapoint (ALB metrics reference).
      if (value !== undefined) out.set(at, value);
    }
    return out;
  }

  DescribeAlarms(input: { AlarmNames?: string[]; StateValue?: AlarmState; MaxRecords?: number }) {
    if ((input.AlarmNames?.length ?? 0) > 100) {
      throw awsError('InvalidParameterValue', 'AlarmNames may list at most 100 alarms');
    }
    const selected = (input.AlarmNames ?? [...this.alarms.keys()])
      .map((name) => this.alarms.get(name))
      .filter((a): a is SimAlarm => a !== undefined)
      .filter((a) => !input.StateValue || a.state === input.StateValue);
    return {
      MetricAlarms: selected.map((a) => ({
        AlarmName: a.name,
        AlarmArn: a.arn,
        StateValue: a.state,
        StateReason: a.reason,
        StateUpdatedTimestamp: a.updatedAt,
        StateTransitionedTimestamp: a.updatedAt,
        Namespace: 'AWS/ApplicationELB',
        ...(a.metric?.kind === 'latency-p95'
          ? {
              MetricName: 'TargetResponseTime',
              ExtendedStatistic: 'p95',
              Threshold: a.metric.thresholdMs / 1000,
            }
          : {
              MetricName: 'HTTPCode_Target_5XX_Count',
              Statistic: 'Sum',
              Threshold:
                a.metric?.kind === undefined || a.metric.kind === '5xx'
                  ? (a.metric?.thresholdPercent ?? 1)
                  : 1,
            }),
        Period: PERIOD_SECONDS,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
      })),
      CompositeAlarms: [],
    };
  }
}

/** Metric Math, the subset Switchyard's reads use: + - * /, parentheses, numbers, ids and FILL(id, n). */
const evaluate = (expression: string, series: Map<string, Series>): Series => {
  const tokens =
    expression.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/(),])/g)?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, ''))
    throw awsError(
      'ValidationError',
      `The expression ${expression} is outside what the local CloudWatch model evaluates (+ - * /, parentheses, numbers, ids and FILL(id, n)); AWS may accept it.`,
    );
  let i = 0;
  type Node = (t: number) => number | undefined;
  const times = new Set<number>();
  const primary = (): Node => {
    const token = tokens[i++];
    if (token === '(') {
      const inner = sum();
      i++;
      return inner;
    }
    if (token === '-') {
      const inner = primary();
      return (t) => {
        const v = inner(t);
        return v === undefined ? undefined : -v;
      };
    }
    if (token === 'FILL') {
      i++; // (
      const id = tokens[i++] as string;
      i++; // ,
      const fill = Number(tokens[i++]);
      i++; // )
      const s = series.get(id) ?? new Map();
      return (t) => s.get(t) ?? fill;
    }
    if (token !== undefined && /^\d/.test(token)) {
      const n = Number(token);
      return () => n;
    }
    const s = series.get(token ?? '');
    if (!s) throw awsError('ValidationError', `The expression ${expression} names an unknown id ${token}.`);
    for (const t of s.keys()) times.add(t);
    return (t) => s.get(t);
  };
  const op = (next: () => Node, ops: string[]) => (): Node => {
    let left = next();
    while (ops.includes(tokens[i] ?? '')) {
      const o = tokens[i++];
      const a = left;
      const b = next();
      left = (t) => {
        const x = a(t);
        const y = b(t);
        if (x === undefined || y === undefined) return undefined;
        return o === '+' ? x + y : o === '-' ? x - y : o === '*' ? x * y : y === 0 ? Number.NaN : x / y;
      };
    }
    return left;
  };
  const product = op(primary, ['*', '/']);
  const sum = op(product, ['+', '-']);
  const root = sum();
  const out: Series = new Map();
  for (const t of times) {
    const v = root(t);
    if (v !== undefined && Number.isFinite(v)) out.set(t, v);
  }
  return out;
};
