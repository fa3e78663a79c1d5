/**
 * Local Lambda: invokes the real `handler` exported by `functions/<folder>/handler.ts`, in process,
 * with a Lambda-shaped context. Handlers are imported on first use, after the environment is set,
 * exactly as a cold start reads it.
 */
import type { Context } from 'aws-lambda';
import { type FunctionFolder, functionTimeoutSeconds } from '../state-machines/definitions.ts';
import { type Faults, invocation } from './faults.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Virtual milliseconds the Lambda service adds to each invocation. */
const INVOKE_OVERHEAD_MS = 15;

/** Memory of every function, as the stack configures it (for billed GB-seconds). */
export const FUNCTION_MEMORY_MB = 512;

/** How Step Functions sees an invocation that crashed or timed out. */
const lambdaUnknown = (message: string) => Object.assign(new Error(message), { name: 'Lambda.Unknown' });

export class LocalLambda {
  invocations = 0;
  /** Sum of billed durations (virtual milliseconds, each invocation rounded up to 1 ms). */
  billedMs = 0;
  readonly byFunction = new Map<string, number>();
  private static readonly handlers = new Map<string, Promise<Handler>>();

  constructor(
    private readonly region: string,
    private readonly account: string,
    private readonly faults?: Faults,
  ) {}

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

  /** Invocations running now, by function. */
  readonly running = new Map<FunctionFolder, number>();

  /** Invokes `folder`'s handler; `state` is the state machine state it serves, if any. */
  async invoke(folder: FunctionFolder, event: unknown, state?: string): Promise<unknown> {
    this.running.set(folder, (this.running.get(folder) ?? 0) + 1);
    try {
      const fault = this.faults?.lambdaFault(state, folder);
      if (fault?.kind === 'timeout') {
        // Hangs until Lambda stops it at the function's timeout; nothing it would have done happens.
        const timeoutMs = functionTimeoutSeconds(folder) * 1000;
        this.invocations++;
        await new Promise((resolve) => setTimeout(resolve, timeoutMs));
        this.billedMs += timeoutMs;
        throw lambdaUnknown(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds (injected)`);
      }
      const result = await invocation.run({ state, folder }, () => this.invokeOnce(folder, event));
      if (fault?.kind === 'crash-after-effect') {
        throw lambdaUnknown('Runtime exited after the function did its work, before answering (injected)');
      }
      return result;
    } finally {
      this.running.set(folder, (this.running.get(folder) ?? 1) - 1);
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
      this.billedMs += Math.max(1, Math.ceil(Date.now() - started));
    }
  }
}
