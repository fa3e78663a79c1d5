/**
 * Simulated CloudWatch alarms. An alarm may watch a listener's 5xx rate: every minute (one period,
 * 1 of 1 datapoints) it reads the share of requests the listener's weighted target groups answer
 * with errors and moves to ALARM above its threshold, back to OK below. Every state change emits
 * the `CloudWatch Alarm State Change` event as AWS does (see shared/reference/events).
 */
import type { EventBus } from '../bus.ts';
import { awsError } from './errors.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmMetric {
  /** The listener or listener rule whose traffic the alarm measures. */
  where: string;
  /** ALARM when more than this percent of requests got a 5xx in the last period. */
  thresholdPercent: number;
}

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

  /** One period: each metric alarm compares the 5xx share of its listener with its threshold. */
  evaluate() {
    for (const alarm of this.alarms.values()) {
      if (!alarm.metric) continue;
      const value = Math.round(this.errorPercent(alarm.metric.where) * 100) / 100;
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
        MetricName: 'HTTPCode_Target_5XX_Count',
        Period: PERIOD_SECONDS,
        EvaluationPeriods: 1,
        Threshold: a.metric?.thresholdPercent ?? 1,
        ComparisonOperator: 'GreaterThanThreshold',
      })),
      CompositeAlarms: [],
    };
  }
}
