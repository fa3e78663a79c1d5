import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

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
