/**
 * AWS Lambda's Invoke as Switchyard calls it. Mostly asynchronously (`InvocationType: 'Event'`), so an
 * HTTP function can answer first and hand its work to another function. Modelled on
 * docs.aws.amazon.com/lambda/latest/dg/invocation-async.html and .../invocation-async-error-handling.html
 * (read 2026-12-02): Lambda queues the event and answers 202 at once; when the function returns an
 * error (a crash or a timeout included), Lambda runs it two more times, one minute after the first
 * attempt and two minutes after the second; an event that fails all three goes to the function's
 * dead-letter queue. The payload limit is 256 KB (Lambda quotas; AWS has since raised it, so this is
 * never kinder than AWS). Only Switchyard's own functions are here to invoke.
 *
 * Synchronously (`RequestResponse`, the API's default; docs.aws.amazon.com/lambda/latest/dg/
 * invocation-sync.html, read 2026-12-05): no queue, the function runs at once and the call answers
 * when it returns, 200 with its result, or 200 with `FunctionError: Unhandled` and the error as the
 * payload. Lambda does not retry it. Refused for want of concurrency: 429 TooManyRequestsException
 * (Invoke API reference). The request payload limit is 6 MB (Lambda quotas).
 */
import { ASYNC_RETRY_DELAYS_MS, EVENT_EXPIRED, isLambdaThrottle } from '../execution-environments.ts';
import { awsError } from './errors.ts';

/** Milliseconds from the 202 to the first attempt. AWS publishes no figure; its queue is polled at once. */
const QUEUE_DELAY_MS = 200;
const MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024;
const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface QueuedInvocation {
  functionName: string;
  payload: unknown;
  /** When Lambda accepted it: its age, for the maximum event age, counts from here across attempts. */
  queuedAt: number;
  attempts: number;
  error?: string;
}

export class LambdaModel {
  /** Events queued or running now (the local runtime waits for them before calling the world settled). */
  inFlight = 0;
  /** Events that failed every attempt: what the function's dead-letter queue would hold. */
  readonly deadLetters: QueuedInvocation[] = [];
  /** Runs the function named (a Switchyard function name or ARN); set by the local runtime. */
  run: ((functionName: string, payload: unknown, queuedAt: number) => Promise<unknown>) | undefined;
  /** Runs the function named at once, for a synchronous Invoke; set by the local runtime. */
  runNow: ((functionName: string, payload: unknown) => Promise<unknown>) | undefined;
  /** Lambda's retries of a failed event, per function (the stack's setting); set by the local runtime. */
  retryAttemptsOf: (functionName: string) => number = () => ASYNC_RETRY_DELAYS_MS.length;

  constructor(private readonly known: (functionName: string) => boolean) {}

  Invoke(input: { FunctionName?: string; InvocationType?: string; Payload?: Uint8Array | string }) {
    const name = input.FunctionName ?? '';
    if (!this.known(name)) {
      throw awsError('ResourceNotFoundException', `Function not found: ${name}`, 404);
    }
    const type = input.InvocationType ?? 'RequestResponse';
    if (type !== 'Event' && type !== 'RequestResponse') {
      throw awsError(
        'InvalidParameterValueException',
        `the local account runs InvocationType Event or RequestResponse, not ${type}`,
        400,
      );
    }
    const bytes =
      typeof input.Payload === 'string' ? Buffer.from(input.Payload) : Buffer.from(input.Payload ?? []);
    const limit = type === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
    if (bytes.length > limit) {
      throw awsError(
        'RequestEntityTooLargeException',
        `Request must be smaller than ${limit} bytes for the ${type === 'Event' ? 'InvokeAsync' : 'Invoke'} operation`,
        413,
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(bytes.toString('utf8') || 'null');
    } catch {
      throw awsError('InvalidRequestContentException', 'Could not parse request body into json', 400);
    }
    if (type === 'RequestResponse') return this.invokeNow(name, payload);
    const event: QueuedInvocation = { functionName: name, payload, queuedAt: Date.now(), attempts: 0 };
    this.inFlight++;
    setTimeout(() => this.attempt(event), QUEUE_DELAY_MS);
    return { StatusCode: 202 };
  }

  private async invokeNow(name: string, payload: unknown) {
    if (!this.runNow) throw new Error('no local Lambda to run synchronous invocations');
    const encode = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value ?? null)));
    try {
      return { StatusCode: 200, Payload: encode(await this.runNow(name, payload)) };
    } catch (error) {
      if (isLambdaThrottle(error)) throw awsError('TooManyRequestsException', 'Rate Exceeded.', 429);
      const { name: errorType, message: errorMessage } = error as Error;
      return { StatusCode: 200, FunctionError: 'Unhandled', Payload: encode({ errorType, errorMessage }) };
    }
  }

  private async attempt(event: QueuedInvocation) {
    event.attempts++;
    try {
      if (!this.run) throw new Error('no local Lambda to run asynchronous invocations');
      if ((await this.run(event.functionName, event.payload, event.queuedAt)) === EVENT_EXPIRED) {
        // Older than its maximum age (throttled, or retried, that long): Lambda discarded it to the
        // dead-letter queue.
        event.error = event.error
          ? `the event expired in Lambda’s queue after its function failed: ${event.error}`
          : 'the event expired in Lambda’s queue, throttled';
        this.deadLetters.push(event);
      }
      this.inFlight--;
    } catch (error) {
      event.error = (error as Error).message;
      const delay =
        event.attempts > this.retryAttemptsOf(event.functionName)
          ? undefined
          : ASYNC_RETRY_DELAYS_MS[event.attempts - 1];
      if (delay === undefined) {
        this.deadLetters.push(event);
        this.inFlight--;
        return;
      }
      setTimeout(() => this.attempt(event), delay);
    }
  }
}
