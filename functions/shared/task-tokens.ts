import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';

type Sfn = Pick<SFNClient, 'send'>;

/** Errors that mean the task is already closed (timed out, decided, execution ended). */
const closedTaskErrors = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

/** Resumes a parked task. Returns false when the task was already closed. */
export const sendSuccess = async (sfn: Sfn, taskToken: string, output: unknown): Promise<boolean> => {
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? {}) }));
    return true;
  } catch (error) {
    if (closedTaskErrors.has((error as Error).name)) return false;
    throw error;
  }
};

/** Fails a parked task with a literal error name the ASL can match. False when already closed. */
export const sendFailure = async (
  sfn: Sfn,
  taskToken: string,
  error: string,
  cause: string,
): Promise<boolean> => {
  try {
    await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 32_000) }));
    return true;
  } catch (err) {
    if (closedTaskErrors.has((err as Error).name)) return false;
    throw err;
  }
};
