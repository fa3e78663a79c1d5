/**
 * Measures a rollback in a finished local run: from the trigger to the verified weights, and the
 * calls made on the way (the bench's "time to rollback", and what tests check of it).
 */
import type { Target } from '../functions/shared/config.ts';
import type { LocalRuntime } from './runtime.ts';

/**
 * From the alarm (or the ops command) to the response of the read-back that verified the weights
 * back, and the calls made on the way. Calls of reconciler ticks that fall in the window are not on
 * the path and are left out, unless the reconciler is what moved the weights (its warm-ups are left
 * out even then: they are sent beside the tick's checks). An ops rollback starts
 * with the operator's StartExecution (the CLI's call; the local runtime starts it directly), counted.
 */
export const rollbackPath = (
  runtime: LocalRuntime,
  target: Target,
  /** When the operator's command was given (virtual ms); without it, the first ALARM after `since`. */
  commandAt: number | undefined,
  since: number,
  /** `event`: `commandAt` is when an AWS event (a member's task stopping) triggered it, no command. */
  trigger: 'command' | 'event' = 'command',
) => {
  const alarm = runtime.account.cloudwatch.history.find((h) => h.state === 'ALARM' && h.at >= since);
  const command = commandAt !== undefined && trigger === 'command';
  const start = commandAt ?? alarm?.at;
  if (start === undefined) return null;
  const where = target.traffic.listenerRuleArn ?? target.traffic.listenerArn;
  const newGroup = target.traffic.targetGroups.green;
  const back = runtime.account.elbv2.weightHistory.find(
    (h) => h.at >= start && h.where === where && (h.weights[newGroup] ?? 0) === 0,
  );
  if (!back) return null;
  const log = runtime.account.callLog;
  const write = log.findLast(
    (c) => c.at <= back.at && (c.call === 'ELBv2.ModifyRule' || c.call === 'ELBv2.ModifyListener'),
  );
  const verified = log.find(
    (c) =>
      c.at >= back.at &&
      c.by === write?.by &&
      (c.call === 'ELBv2.DescribeRules' || c.call === 'ELBv2.DescribeListeners'),
  );
  if (!write || !verified) return null;
  const end = verified.at + verified.ms;
  // A tick's warm-ups (Lambda.Invoke, keep-warm.ts) go out beside its checks, not before them: off the path.
  const onPath = (c: { at: number; by?: string; call?: string }) =>
    c.at >= start &&
    c.at < end &&
    (c.by !== 'reconciler' || write.by === 'reconciler') &&
    c.call !== 'Lambda.Invoke';
  const calls: Record<string, number> = command ? { 'SFN.StartExecution': 1 } : {};
  for (const c of log.filter(onPath)) calls[c.call] = (calls[c.call] ?? 0) + 1;
  const dynamo = runtime.dynamoLog.filter(onPath).length;
  return { seconds: (end - start) / 1000, calls, dynamo, movedBy: write.by ?? '?' };
};
