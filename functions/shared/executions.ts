import { DescribeExecutionCommand, paginateListExecutions, type SFNClient } from '@aws-sdk/client-sfn';

/**
 * What Step Functions says about an execution. `UNKNOWN` when it does not know the ARN: it was never
 * started, or it started so recently that DescribeExecution (eventually consistent) has not seen it.
 */
export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE'
  | 'UNKNOWN';

export const executionStatus = async (
  sfn: Pick<SFNClient, 'send'>,
  executionArn: string,
): Promise<ExecutionStatus> => {
  try {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return (out.status ?? 'FAILED') as ExecutionStatus;
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return 'UNKNOWN';
    throw error;
  }
};

/** The ARN of `stateMachineArn`'s execution named `name`. */
export const executionArnOf = (stateMachineArn: string, name: string) =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/**
 * The state machine an execution ARN (`arn:aws:states:<region>:<account>:execution:<machine>:<name>`)
 * belongs to: executionArnOf's inverse; undefined for any other ARN (an Express execution's, say).
 */
export const stateMachineOf = (executionArn: string): string | undefined => {
  const parts = executionArn.split(':');
  if (parts.length !== 8 || parts[5] !== 'execution') return undefined;
  return [...parts.slice(0, 5), 'stateMachine', parts[6]].join(':');
};

/**
 * The ARNs of the executions of `stateMachineArn` Step Functions lists as RUNNING: one ListExecutions
 * page answers for up to 1,000 of them, where DescribeExecution answers for one. The list is
 * eventually consistent, as DescribeExecution is: an execution that ended a moment ago may still be listed.
 */
export const runningExecutions = async (sfn: SFNClient, stateMachineArn: string): Promise<string[]> => {
  const running: string[] = [];
  const pages = paginateListExecutions(
    { client: sfn, pageSize: 1000 },
    { stateMachineArn, statusFilter: 'RUNNING' },
  );
  for await (const page of pages)
    for (const e of page.executions ?? []) if (e.executionArn) running.push(e.executionArn);
  return running;
};
