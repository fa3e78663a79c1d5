/** The target's CloudWatch alarms, read from CloudWatch each time (an alarm event is only a hint). */
import {
  type CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';

type CloudWatch = Pick<CloudWatchClient, 'send'>;

export interface FiringAlarm {
  name: string;
  reason: string;
}

export interface AlarmStates {
  firing: FiringAlarm[];
  /** Names CloudWatch does not know: a typo here would be an alarm that never stops a release. */
  missing: string[];
}

/**
 * The state of each alarm in `names`, 100 names per DescribeAlarms call. Metric alarms only: AWS
 * returns composite alarms only to callers allowed DescribeAlarms on "*", and the stack scopes the
 * permission to the configured alarms (a composite alarm is reported missing by Validate).
 */
export const readAlarms = async (cloudwatch: CloudWatch, names: readonly string[]): Promise<AlarmStates> => {
  const unique = [...new Set(names)];
  const firing: FiringAlarm[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < unique.length; i += 100) {
    const out = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: unique.slice(i, i + 100),
        AlarmTypes: ['MetricAlarm'],
        MaxRecords: 100,
      }),
    );
    for (const alarm of out.MetricAlarms ?? []) {
      seen.add(alarm.AlarmName ?? '');
      if (alarm.StateValue === 'ALARM') {
        firing.push({ name: alarm.AlarmName ?? '?', reason: alarm.StateReason ?? '' });
      }
    }
  }
  return { firing, missing: unique.filter((n) => !seen.has(n)) };
};

/** No alarm read: for a step whose plan the alarms do not judge (a rollback's, schemas.ts). */
export const noAlarms: Promise<AlarmStates> = Promise.resolve({ firing: [], missing: [] });

/** `alarm "x" is in ALARM (reason); alarm "y" …` for an error cause. */
export const describeFiring = (firing: FiringAlarm[]): string =>
  firing.map((a) => `alarm "${a.name}" is in ALARM${a.reason ? ` (${a.reason})` : ''}`).join('; ');

/** A history item's states (HistoryData is a JSON document; its summary says "from X to Y"). */
const statesOf = (item: { HistoryData?: string | undefined; HistorySummary?: string | undefined }) => {
  try {
    const data = JSON.parse(item.HistoryData ?? '{}');
    return {
      from: data?.oldState?.stateValue as string | undefined,
      to: data?.newState?.stateValue as string | undefined,
    };
  } catch {
    const m = (item.HistorySummary ?? '').match(/from (\w+) to (\w+)$/);
    return { from: m?.[1], to: m?.[2] };
  }
};

/**
 * Alarms in ALARM at any moment of a window (`what`: "the soak", "hook verify"): one that went to
 * ALARM in it, one that left ALARM in it (it was firing when the window began), and one in ALARM
 * since before it. Every page of the history is read (DescribeAlarmHistory pages with NextToken,
 * 100 items at most per page): an alarm that fired and cleared inside the window counts.
 */
export const alarmsDuring = async (
  cloudwatch: CloudWatch,
  names: string[],
  window: { from: string; to: string },
  what: string,
): Promise<string[]> => {
  const found: string[] = [];
  for (const name of names) {
    let token: string | undefined;
    let hit: string | undefined;
    do {
      const out = await cloudwatch.send(
        new DescribeAlarmHistoryCommand({
          AlarmName: name,
          HistoryItemType: 'StateUpdate',
          StartDate: new Date(window.from),
          EndDate: new Date(window.to),
          ScanBy: 'TimestampAscending',
          MaxRecords: 100,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const item of out.AlarmHistoryItems ?? []) {
        const { from, to } = statesOf(item);
        const at = item.Timestamp?.toISOString() ?? '?';
        if (to === 'ALARM') hit = `alarm "${name}" went to ALARM at ${at}`;
        else if (from === 'ALARM')
          hit = `alarm "${name}" was in ALARM when ${what} began (it cleared at ${at})`;
        if (hit) break;
      }
      token = hit ? undefined : out.NextToken;
    } while (token);
    if (hit) found.push(hit);
  }
  if (names.length > 0) {
    const out = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: [...names].slice(0, 100), MaxRecords: 100 }),
    );
    for (const alarm of out.MetricAlarms ?? []) {
      // The state's own time (StateUpdatedTimestamp also moves when only the evaluation state does).
      const since = (alarm.StateTransitionedTimestamp ?? alarm.StateUpdatedTimestamp)?.toISOString() ?? '';
      if (
        alarm.StateValue === 'ALARM' &&
        since < window.from &&
        !found.some((f) => f.includes(`"${alarm.AlarmName}"`))
      )
        found.push(`alarm "${alarm.AlarmName}" is in ALARM since ${since}, before ${what} began`);
    }
  }
  return found;
};
