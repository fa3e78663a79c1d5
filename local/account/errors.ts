/**
 * Errors shaped like the AWS SDK's service exceptions: `name` is the AWS error code, `$fault` and
 * `$metadata.httpStatusCode` drive the SDK's own retry decisions, as for a real response.
 */
export const awsError = (name: string, message: string, status = 400): Error =>
  Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 },
  });

export const notFound = (name: string, message: string) => awsError(name, message, 400);

/** What the SDK's HTTP handler throws when a response does not arrive in time (retried as transient). */
export const timeoutError = (call: string, seconds: number): Error =>
  Object.assign(new Error(`${call}: no response within ${seconds} s (injected)`), {
    name: 'TimeoutError',
    $metadata: { attempts: 1, totalRetryDelay: 0 },
  });
