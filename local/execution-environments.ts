/**
 * Lambda's execution environments, as the local runtime models them for Switchyard's functions.
 *
 * An invocation runs in an environment of its function that is idle (warm), or in a new one, which
 * first runs its init (a cold start). An environment runs one invocation at a time. One whose
 * invocation crashed or timed out is reset: its next invocation starts cold. Lambda refuses an
 * invocation (429 `TooManyRequestsException`) when the account's concurrency is all in use (warm
 * environments idle or not), or when it would need a new environment faster than the function may
 * scale.
 *
 * AWS sources (read 2026-12-03):
 * - docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html: the Init, Invoke and
 *   Shutdown phases; environments are reused; a function that fails or times out during Invoke has
 *   its environment reset, and the next invocation runs Init again.
 * - docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html: per function, at most 1,000 new
 *   environments every 10 seconds, refilled continuously and never accumulated past 1,000; past it,
 *   or at the account's concurrency, requests fail with a throttling error (status 429).
 * - docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 1,000 concurrent executions per
 *   account and Region by default.
 * - docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: CPU in proportion to memory, one
 *   vCPU at 1,769 MB.
 * - aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase: the Init phase of
 *   on-demand functions is billed from 1 August 2025.
 * - How long an idle environment is kept: see IDLE_LIFETIME_MS and MAX_LIFETIME_MS.
 *
 * Not modelled, and so kinder than AWS: the time Lambda takes to create an environment before the
 * init runs (unpublished), a Graviton core slower than the (x86) core the bench measures the init on,
 * and the lower concurrency a new account may start with (the quotas page says new accounts have
 * reduced quotas, raised with use; it gives no figure).
 */

import { FUNCTION_MEMORY_MB } from '../infra/function-runtime.ts';

/**
 * Node's own start and the slowest function's module initialisation on one core, as deployed (source
 * maps on), in ms. `bench/cold-start.ts` measures both on the machine running it (7 interleaved
 * rounds, 2026-12-03): 36 + 239 ms on a quiet machine (register-wait the slowest; the functions'
 * medians 166-239 ms), 37 + 273 ms with other work running beside it. Rounded up from the larger. The
 * bench prints whether this still covers what it measured. Not in it: what Lambda's runtime client
 * does beyond Node's start, and how a Graviton core compares with the measuring machine's.
 */
export const ONE_CORE_INIT_MS = 350;

/**
 * How long an idle environment stays warm. AWS publishes no figure: "Lambda maintains the execution
 * environment for some time in anticipation of another function invocation"
 * (docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). Measured from outside:
 * 45-60 minutes, some shut down earlier (theburningmonk.com, 2017); exactly 10 minutes after the
 * last request since July 2019 (mikhail.io/2019/08/aws-lambda-cold-starts-after-10-minutes). Half
 * the shortest measurement. AWS guarantees none, so a real account may shut one down sooner.
 */
export const IDLE_LIFETIME_MS = 5 * 60_000;

/**
 * The longest an environment lives, however busy: "Lambda terminates execution environments every
 * few hours to allow for runtime updates and maintenance—even for functions that are invoked
 * continuously" (the same page). Two hours, the fewest that "a few" can mean.
 */
export const MAX_LIFETIME_MS = 2 * 3_600_000;

/**
 * Lambda's retries of an asynchronous invocation whose function failed: twice, one minute after the
 * first attempt and two minutes after the second; then the event goes to the dead-letter queue
 * (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html; the stack keeps the
 * default). For `InvocationType: 'Event'`, for EventBridge rules' targets and for the reconciler's
 * schedule alike.
 */
export const ASYNC_RETRY_DELAYS_MS: readonly number[] = [60_000, 120_000];

/**
 * An asynchronous invocation that Lambda throttles goes back to its queue and is tried again, the
 * wait growing from 1 s to at most 5 min, until the event is as old as its function's maximum event
 * age (definitions.ts, asyncInvokeConfig): the same page, read 2026-12-03.
 */
export const ASYNC_THROTTLE_RETRY = { firstMs: 1_000, maxMs: 300_000 };

/** One vCPU at this much memory (the CPU share the init is scaled by). */
export const MB_PER_VCPU = 1_769;

/** A measured one-core init, as long as it takes at the functions' memory (at most one vCPU's worth: the init is single-threaded). */
export const initAtFunctionMemory = (oneCoreMs: number): number =>
  (oneCoreMs * MB_PER_VCPU) / Math.min(FUNCTION_MEMORY_MB, MB_PER_VCPU);

/** Virtual milliseconds a function's init takes: ONE_CORE_INIT_MS at the functions' share of a vCPU. */
export const INIT_MS = Math.ceil(initAtFunctionMemory(ONE_CORE_INIT_MS));

export interface ConcurrencyLimits {
  /** Concurrent executions across the account's functions. */
  account: number;
  /** New environments a function may create at once (the scaling rate's bucket). */
  scalingBurst: number;
  /** New environments a function may create per second, refilled continuously. */
  scalingPerSecond: number;
}

/** Lambda's defaults: 1,000 concurrent executions; 1,000 new environments per 10 s per function. */
export const LAMBDA_LIMITS: ConcurrencyLimits = {
  account: 1_000,
  scalingBurst: 1_000,
  scalingPerSecond: 100,
};

export interface ExecutionEnvironment {
  readonly id: number;
  readonly folder: string;
  invocations: number;
  /** What an environment holds for its life: here, each SDK client's retry strategy (its quota). */
  readonly state: Map<unknown, unknown>;
  /** When its init ran (virtual ms). */
  readonly createdAt: number;
  /** When its last invocation ended (virtual ms). */
  idleSince: number;
}

/** Whether Lambda has shut `environment` down by `now`: idle too long, or past its lifetime. */
const shutDown = (environment: ExecutionEnvironment, now: number) =>
  now - environment.idleSince >= IDLE_LIFETIME_MS || now - environment.createdAt >= MAX_LIFETIME_MS;

/** The function's name: Switchyard's by folder, or a user's (`hook:<name>`) as named. */
const functionNameOf = (folder: string) =>
  folder.startsWith('hook:') ? folder.slice('hook:'.length) : `switchyard-${folder}`;

/** Raised when Lambda refuses an invocation: Step Functions sees `Lambda.TooManyRequestsException`. */
export const lambdaThrottled = (folder: string, why: string) =>
  Object.assign(new Error(`Rate Exceeded: ${functionNameOf(folder)} (${why})`), {
    name: 'Lambda.TooManyRequestsException',
    $metadata: { httpStatusCode: 429 },
  });

/**
 * What an asynchronous invocation gives its sender when Lambda discarded the event: still throttled
 * at its maximum age, it went to the function's dead-letter queue (or on-failure destination).
 */
export const EVENT_EXPIRED = Symbol('event expired in Lambda’s queue');

export const isLambdaThrottle = (error: unknown): boolean =>
  (error as Error | undefined)?.name === 'Lambda.TooManyRequestsException';

export class ExecutionEnvironments {
  private readonly idle = new Map<string, ExecutionEnvironment[]>();
  private readonly scaling = new Map<string, { tokens: number; at: number }>();
  private nextId = 1;
  /** Invocations running now, across functions. */
  concurrency = 0;
  peakConcurrency = 0;
  coldStarts = 0;
  /** Cold starts by function. */
  readonly coldStartsBy = new Map<string, number>();
  readonly throttled = { concurrency: 0, scaling: 0 };

  constructor(private readonly limits: ConcurrencyLimits = LAMBDA_LIMITS) {}

  /**
   * An environment for one invocation of `folder`: the most recently used idle one that Lambda has
   * not shut down, or a new one (`cold`). Throws Lambda's throttling error when a new one is not
   * allowed.
   */
  acquire(
    folder: string,
    /** A user's function (a Lambda hook): its environments count, its cold starts are not Switchyard's. */
    user = false,
  ): { environment: ExecutionEnvironment; cold: boolean } {
    // Concurrency is invocations in flight: at the limit, even a warm environment is refused.
    if (this.concurrency >= this.limits.account) {
      this.throttled.concurrency++;
      throw lambdaThrottled(folder, `the account's ${this.limits.account} concurrent executions are in use`);
    }
    const warm = this.warmOf(folder);
    if (warm) return { environment: this.occupy(warm), cold: false };
    const bucket = this.refilled(folder);
    if (bucket.tokens < 1) {
      this.throttled.scaling++;
      throw lambdaThrottled(folder, 'the function is scaling faster than Lambda allows');
    }
    bucket.tokens--;
    if (!user) {
      this.coldStarts++;
      this.coldStartsBy.set(folder, (this.coldStartsBy.get(folder) ?? 0) + 1);
    }
    return { environment: this.occupy(this.created(folder)), cold: true };
  }

  /** The most recently used idle environment of `folder` still alive, taken off the idle list. */
  private warmOf(folder: string): ExecutionEnvironment | undefined {
    const idle = this.idle.get(folder);
    const now = Date.now();
    for (let environment = idle?.pop(); environment; environment = idle?.pop()) {
      if (!shutDown(environment, now)) return environment;
      // The most recently used one idled too long: every one before it did too.
      if (now - environment.idleSince >= IDLE_LIFETIME_MS) idle?.splice(0);
    }
    return undefined;
  }

  private created(folder: string): ExecutionEnvironment {
    const now = Date.now();
    return { id: this.nextId++, folder, invocations: 0, state: new Map(), createdAt: now, idleSince: now };
  }

  /** Gives `folder` an idle environment whose init is done, as right after an earlier invocation. */
  prewarm(folder: string) {
    const idle = this.idle.get(folder) ?? [];
    idle.push(this.created(folder));
    this.idle.set(folder, idle);
  }

  /** The invocation ended; `reset` when it crashed or timed out (the environment is not reused). */
  release(environment: ExecutionEnvironment, reset = false) {
    this.concurrency--;
    environment.idleSince = Date.now();
    if (reset) return;
    const idle = this.idle.get(environment.folder) ?? [];
    idle.push(environment);
    this.idle.set(environment.folder, idle);
  }

  /** The idle environments of `folder` Lambda has not shut down, the most recently used last. */
  idleOf(folder: string): readonly ExecutionEnvironment[] {
    const now = Date.now();
    return (this.idle.get(folder) ?? []).filter((environment) => !shutDown(environment, now));
  }

  private occupy(environment: ExecutionEnvironment) {
    environment.invocations++;
    this.concurrency++;
    this.peakConcurrency = Math.max(this.peakConcurrency, this.concurrency);
    return environment;
  }

  private refilled(folder: string) {
    const now = Date.now();
    const bucket = this.scaling.get(folder) ?? { tokens: this.limits.scalingBurst, at: now };
    bucket.tokens = Math.min(
      this.limits.scalingBurst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.limits.scalingPerSecond,
    );
    bucket.at = now;
    this.scaling.set(folder, bucket);
    return bucket;
  }
}
