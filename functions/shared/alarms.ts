/** The target's CloudWatch alarms, read from CloudWatch each time (an alarm event is only a hint). */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';

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

/** `alarm "x" is in ALARM (reason); alarm "y" …` for an error cause. */
export const describeFiring = (firing: FiringAlarm[]): string =>
  firing.map((a) => `alarm "${a.name}" is in ALARM${a.reason ? ` (${a.reason})` : ''}`).join('; ');
