/**
 * Local Lambda: invokes the real `handler` exported by `functions/<folder>/handler.ts`, in process,
 * with a Lambda-shaped context. Handlers are imported on first use, after the environment is set,
 * exactly as a cold start reads it. Each invocation runs in one of the function's execution
 * environments (local/execution-environments.ts): a new one first spends its init in virtual time.
 */
import type { Context } from 'aws-lambda';
import { LAMBDA_MAX_SECONDS } from '../functions/shared/hooks.ts';
import { isWarmUp } from '../functions/shared/warm-up.ts';
import { FUNCTION_MEMORY_MB } from '../infra/function-runtime.ts';
import {
  asyncInvokeConfig,
  type FunctionFolder,
  functionTimeoutSeconds,
} from '../state-machines/definitions.ts';
import {
  ASYNC_THROTTLE_RETRY,
  EVENT_EXPIRED,
  ExecutionEnvironments,
  INIT_MS,
  isLambdaThrottle,
} from './execution-environments.ts';
import { type Faults, invocation } from './faults.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Virtual milliseconds the Lambda service adds to each invocation. */
const INVOKE_OVERHEAD_MS = 15;

/** An event's maximum age: Lambda's default, or the stack's own for the functions it sets one on. */
const maxEventAgeMs = (folder: FunctionFolder): number => asyncInvokeConfig(folder).maxEventAgeSeconds * 1000;

/** How Step Functions sees an invocation that crashed or timed out. */
const lambdaUnknown = (message: string) => Object.assign(new Error(message), { name: 'Lambda.Unknown' });

export class LocalLambda {
  invocations = 0;
  /** Sum of billed durations (virtual milliseconds, each invocation rounded up to 1 ms). */
  billedMs = 0;
  /** Of those, the warm-ups' (their init, when they found no environment, and their 1 ms). */
  warmUpBilledMs = 0;
  readonly byFunction = new Map<string, number>();
  readonly environments: ExecutionEnvironments;
  /** Asynchronous invocations Lambda throttled and queued again. */
  requeuedAfterThrottle = 0;
  /** Asynchronous events discarded as older than their maximum age: the dead-letter queue's. */
  readonly expiredEvents: { folder: FunctionFolder; event: unknown; queuedAt: number; error: string }[] = [];
  private static readonly handlers = new Map<string, Promise<Handler>>();

  constructor(
    private readonly region: string,
    private readonly account: string,
    private readonly faults?: Faults,
    limits?: ConstructorParameters<typeof ExecutionEnvironments>[0],
  ) {
    this.environments = new ExecutionEnvironments(limits);
  }

  arnOf(folder: FunctionFolder): string {
    return `arn:aws:lambda:${this.region}:${this.account}:function:switchyard-${folder}`;
  }

  folderOf(arn: string): FunctionFolder {
    const match = arn.match(/:function:switchyard-([a-z-]+)$/);
    if (!match) throw new Error(`not a Switchyard function ARN: ${arn}`);
    return match[1] as FunctionFolder;
  }

  private static load(folder: string): Promise<Handler> {
    let handler = LocalLambda.handlers.get(folder);
    if (!handler) {
      handler = import(`../functions/${folder}/handler.ts`).then((m: { handler: Handler }) => m.handler);
      LocalLambda.handlers.set(folder, handler);
    }
    return handler;
  }

  /**
   * Imports every handler now (their init: env, config, clients). Loading is real I/O the virtual
   * clock cannot see, so it must happen before time starts, not on first invocation.
   */
  static async preload(folders: readonly FunctionFolder[]): Promise<void> {
    await Promise.all(folders.map((f) => LocalLambda.load(f)));
  }

  /** Warm-ups run (functions/shared/keep-warm.ts): invocations that only ran the init, if cold. */
  warmUps = 0;

  /** Invocations that served a state machine state, by state (warm-ups serve none). */
  readonly invocationsByState = new Map<string, number>();
  /** Of those, the ones that started cold. */
  readonly coldStartsByState = new Map<string, number>();

  /** Invocations running now, by function. */
  readonly running = new Map<FunctionFolder, number>();

  /** Invokes `folder`'s handler; `state` is the state machine state it serves, if any. */
  async invoke(folder: FunctionFolder, event: unknown, state?: string): Promise<unknown> {
    // Refused (throttled) before anything runs: no invocation, nothing billed.
    const { environment, cold } = this.environments.acquire(folder);
    this.running.set(folder, (this.running.get(folder) ?? 0) + 1);
    let reset = false;
    try {
      if (isWarmUp(event)) this.warmUps++;
      if (state !== undefined) {
        this.invocationsByState.set(state, (this.invocationsByState.get(state) ?? 0) + 1);
        if (cold) this.coldStartsByState.set(state, (this.coldStartsByState.get(state) ?? 0) + 1);
      }
      if (cold) {
        // The init: the handler module's top level, at the function's share of a vCPU. Billed.
        await new Promise((resolve) => setTimeout(resolve, INIT_MS));
        this.bill(INIT_MS, event);
      }
      // A fault stands for the function's work failing; a warm-up does none, and leaves it for the step.
      const fault = isWarmUp(event) ? undefined : this.faults?.lambdaFault(state, folder);
      if (fault?.kind === 'timeout') {
        // Hangs until Lambda stops it at the function's timeout; nothing it would have done happens.
        reset = true;
        const timeoutMs = functionTimeoutSeconds(folder) * 1000;
        this.invocations++;
        await new Promise((resolve) => setTimeout(resolve, timeoutMs));
        this.billedMs += timeoutMs;
        throw lambdaUnknown(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds (injected)`);
      }
      const result = await invocation.run({ state, folder, environment }, () =>
        this.invokeOnce(folder, event),
      );
      if (fault?.kind === 'crash-after-effect') {
        reset = true;
        throw lambdaUnknown('Runtime exited after the function did its work, before answering (injected)');
      }
      return result;
    } finally {
      this.running.set(folder, (this.running.get(folder) ?? 1) - 1);
      this.environments.release(environment, reset);
    }
  }

  /**
   * Invokes `folder` as an asynchronous invocation does (an EventBridge rule's target, the
   * scheduler's, `InvocationType: 'Event'`): a throttled attempt waits in Lambda's queue and is tried
   * again; an event still throttled when it would be older than its maximum event age is discarded
   * (to the function's dead-letter queue): `EVENT_EXPIRED`, and no error, since Lambda had accepted
   * it. The function's own error reaches the caller, whose retries are its own. `queuedAt`: when
   * Lambda accepted the event; a retry after a function error keeps its first one, as the age counts
   * across attempts, and one already past its maximum age is discarded without running.
   */
  async invokeAsync(folder: FunctionFolder, event: unknown, queuedAt = Date.now()): Promise<unknown> {
    if (Date.now() - queuedAt > maxEventAgeMs(folder)) {
      this.expiredEvents.push({ folder, event, queuedAt, error: 'older than its maximum event age' });
      return EVENT_EXPIRED;
    }
    for (
      let waitMs = ASYNC_THROTTLE_RETRY.firstMs;
      ;
      waitMs = Math.min(2 * waitMs, ASYNC_THROTTLE_RETRY.maxMs)
    ) {
      try {
        return await this.invoke(folder, event);
      } catch (error) {
        if (!isLambdaThrottle(error)) throw error;
        if (Date.now() + waitMs - queuedAt > maxEventAgeMs(folder)) {
          this.expiredEvents.push({ folder, event, queuedAt, error: (error as Error).message });
          return EVENT_EXPIRED;
        }
        this.requeuedAfterThrottle++;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /**
   * Runs a user's function (a Lambda hook's, `run`) in an environment of its own: it counts against
   * the account's concurrency (throttled, the Invoke state sees Lambda.TooManyRequestsException).
   * Lambda ends any invocation by its 15-minute limit, so one that hangs gives its environment back
   * then. Its init is the user's, not modelled.
   */
  async invokeUserFunction<T>(functionName: string, run: () => Promise<T>): Promise<T> {
    const { environment } = this.environments.acquire(`hook:${functionName}`, true);
    let held = true;
    const free = (reset: boolean) => {
      if (held) this.environments.release(environment, reset);
      held = false;
    };
    const limit = setTimeout(() => free(true), LAMBDA_MAX_SECONDS * 1000);
    try {
      return await run();
    } finally {
      clearTimeout(limit);
      free(false);
    }
  }

  private async invokeOnce(folder: FunctionFolder, event: unknown): Promise<unknown> {
    this.invocations++;
    this.byFunction.set(folder, (this.byFunction.get(folder) ?? 0) + 1);
    const handler = await LocalLambda.load(folder);
    await new Promise((resolve) => setTimeout(resolve, INVOKE_OVERHEAD_MS));
    const deadline = Date.now() + functionTimeoutSeconds(folder) * 1000;
    const context = {
      functionName: `switchyard-${folder}`,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.arnOf(folder),
      memoryLimitInMB: String(FUNCTION_MEMORY_MB),
      awsRequestId: `local-${this.invocations}`,
      logGroupName: `/aws/lambda/switchyard-${folder}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => {},
      fail: () => {},
      succeed: () => {},
    } satisfies Context;
    const started = Date.now();
    try {
      // A JSON round trip, as the Lambda service does with payloads.
      return await handler(JSON.parse(JSON.stringify(event ?? null)), context);
    } finally {
      this.bill(Math.max(1, Math.ceil(Date.now() - started)), event);
    }
  }

  private bill(ms: number, event: unknown) {
    this.billedMs += ms;
    if (isWarmUp(event)) this.warmUpBilledMs += ms;
  }
}
