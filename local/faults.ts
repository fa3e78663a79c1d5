/**
 * Fault knobs of the simulated account. Each is counted down as it fires, so a test can say
 * "throttle the first 2 DescribeServices", "drop the next ECS deployment event" or "crash
 * ShiftTraffic's function after it changed the weights".
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ExecutionEnvironment } from './execution-environments.ts';

/** The function running now, and the state it serves if any (API faults can target either). */
export const invocation = new AsyncLocalStorage<{
  state?: string;
  folder: string;
  /** The execution environment it runs in (local/execution-environments.ts). */
  environment?: ExecutionEnvironment;
}>();

export interface ApiFault {
  /** `ECS`, `ELBv2`, `RDS`, `ECR`, `SNS`, `SFN`, `CloudWatch`, `SecretsManager`, `DynamoDB`, or `*`. */
  service: string;
  /** SDK command name without `Command`, e.g. `DescribeServices`, or `*` for any. */
  operation: string;
  /** Only calls made by the function serving this state (e.g. `ShiftTraffic`). */
  state?: string;
  /** Only calls made by this function (its folder, e.g. `wait-resume`), whatever it serves. */
  folder?: string;
  /**
   * Only calls whose input names this resource, in any field or list (a listener rule's ARN as
   * `RuleArn`, a service in `services`): one of several calls made side by side, whichever is
   * answered first. Not for DynamoDB, whose calls are matched without their input.
   */
  resource?: string;
  /** AWS error code to answer with, e.g. `ThrottlingException`, `InternalFailure`. */
  error: string;
  /** HTTP status of the error (429/5xx make the SDK retry it). */
  status?: number;
  /**
   * `error` (default): the call fails before it does anything. `timeout`: the call takes effect,
   * but its answer never arrives: the client sees a `TimeoutError` when its own request timeout
   * fires (functions/shared/clients/http.ts: 10 s, 1.5 s for EventBridge), as it would in AWS.
   */
  mode?: 'error' | 'timeout';
  /** `error` only: the refusal arrives this many seconds after the call (a slow answer), nothing done. */
  delaySeconds?: number;
  /** How many calls fail; the rest pass. */
  times: number;
  /** Let this many matching calls pass before failing. */
  after?: number;
}

export interface EventFault {
  /** EventBridge `detail-type` to act on. */
  detailType: string;
  /** `delay` delivers it `delaySeconds` late, so later events overtake it (out of order). */
  action: 'drop' | 'duplicate' | 'delay';
  delaySeconds?: number;
  times: number;
}

export interface LambdaFault {
  /** The state whose invocation fails (e.g. `ShiftTraffic`, `WaitForServiceStable`)... */
  state?: string;
  /** ...or any invocation of this function (its folder, e.g. `approvals`, which serves no state). */
  folder?: string;
  /**
   * `crash-after-effect`: the function does its work, then its runtime dies before answering.
   * `timeout`: the function hangs until its timeout. Both reach Step Functions as `Lambda.Unknown`.
   */
  kind: 'crash-after-effect' | 'timeout';
  times: number;
}

/** What an operator does the moment a release's execution enters `state`. */
export interface OperatorFault {
  state: string;
  /** `stop`: StopExecution on the release. `rollback`: `switchyard rollback` on its target. */
  action: 'stop' | 'rollback';
  times: number;
}

/**
 * What a one-off task (a hook) does instead of succeeding: its essential container exits with
 * `exitCode`, it never stops (`hang`), or it never starts (`failToStart`: the stopped reason ECS
 * gives, e.g. `CannotPullContainerError: …`).
 */
export interface TaskFault {
  exitCode?: number;
  hang?: boolean;
  failToStart?: string;
  /** Seconds the task runs before its container exits (default: the program's own). */
  runSeconds?: number;
  /** How many tasks it strikes, the first ones started (default: every one). */
  times?: number;
}

/**
 * What a Lambda hook's function does instead of returning: it throws (`error`, as `Type: message`),
 * never returns (`hang`: the hook's timeout ends it), or answers `answer`.
 */
export interface LambdaHookFault {
  error?: string;
  hang?: boolean;
  answer?: unknown;
  /** Seconds the function runs before it answers (default: its own 2-10 s). */
  runSeconds?: number;
}

export interface FaultPlan {
  /** One-off tasks whose command (joined by spaces) contains the key behave as the fault says. */
  tasks?: Record<string, TaskFault>;
  /** Lambda hook functions whose name contains the key behave as the fault says. */
  lambdaHooks?: Record<string, LambdaHookFault>;
  /**
   * Image tag → the 95th percentile of response times (ms) its containers answer real requests
   * with: a slow image (load tests measure it).
   */
  latencyMs?: Record<string, number>;
  api?: ApiFault[];
  operator?: OperatorFault[];
  events?: EventFault[];
  lambda?: LambdaFault[];
  /** Image tags whose containers fail their HTTP health checks. */
  unhealthyTags?: string[];
  /**
   * Image tag (or `<repository>:<tag>`, or `<container>:<tag>`) → seconds after a service's task of that image started
   * when its essential container exits 1: a worker that starts, then fails on real work.
   */
  crashAfterSeconds?: Record<string, number>;
  /**
   * Image tag → share of real requests its containers answer with 5xx while passing their health
   * checks (a bug only traffic shows; the target's alarms see it).
   */
  errorRates?: Record<string, number>;
  /** Real traffic on every served listener, requests per second (low traffic: too few samples). */
  trafficRps?: number;
  /** Share (0-1) of the ALB's per-minute datapoints CloudWatch never gets (missing data). */
  missingMetrics?: number;
}

/** Whether `input` holds `resource` as a value, at any depth. */
const names = (input: unknown, resource: string): boolean =>
  input === resource ||
  (typeof input === 'object' && input !== null && Object.values(input).some((v) => names(v, resource)));

export class Faults {
  private readonly api: (Required<Omit<ApiFault, 'state' | 'folder' | 'resource'>> &
    Pick<ApiFault, 'state' | 'folder' | 'resource'>)[] = [];
  private readonly events: EventFault[] = [];
  private readonly lambda: LambdaFault[] = [];
  private readonly operator: OperatorFault[] = [];
  readonly unhealthyTags = new Set<string>();
  readonly errorRates = new Map<string, number>();
  readonly latencyMs = new Map<string, number>();
  readonly crashAfterSeconds = new Map<string, number>();
  trafficRps: number | undefined;
  missingMetrics: number | undefined;
  private readonly tasks: [string, TaskFault][] = [];
  private readonly lambdaHooks: [string, LambdaHookFault][] = [];
  /** What fired, for summaries and assertions. */
  readonly fired: string[] = [];

  constructor(plan: FaultPlan = {}) {
    this.arm(plan);
  }

  /** Adds faults now (e.g. for a rollback, after the release it follows ran clean). */
  arm(plan: FaultPlan) {
    for (const f of plan.api ?? []) {
      this.api.push({ status: 400, after: 0, mode: 'error', delaySeconds: 0, ...f });
    }
    for (const f of plan.events ?? []) this.events.push({ ...f });
    for (const f of plan.lambda ?? []) this.lambda.push({ ...f });
    for (const f of plan.operator ?? []) this.operator.push({ ...f });
    for (const tag of plan.unhealthyTags ?? []) this.unhealthyTags.add(tag);
    for (const [tag, rate] of Object.entries(plan.errorRates ?? {})) this.errorRates.set(tag, rate);
    for (const [tag, ms] of Object.entries(plan.latencyMs ?? {})) this.latencyMs.set(tag, ms);
    for (const [tag, s] of Object.entries(plan.crashAfterSeconds ?? {})) this.crashAfterSeconds.set(tag, s);
    if (plan.trafficRps !== undefined) this.trafficRps = plan.trafficRps;
    if (plan.missingMetrics !== undefined) this.missingMetrics = plan.missingMetrics;
    this.tasks.push(
      ...Object.entries(plan.tasks ?? {}).map(([key, f]): [string, TaskFault] => [key, { ...f }]),
    );
    this.lambdaHooks.push(...Object.entries(plan.lambdaHooks ?? {}));
  }

  /** The fault for a Lambda hook's function, if one is armed for its name (it stays armed). */
  lambdaHookFault(functionName: string): LambdaHookFault | undefined {
    const found = this.lambdaHooks.find(([key]) => functionName.includes(key));
    if (found) this.fired.push(`Lambda hook ${functionName}: ${JSON.stringify(found[1])}`);
    return found?.[1];
  }

  /** The fault for a one-off task running `command`, if one is armed (it stays armed unless it has `times`). */
  taskFault(command: string[]): TaskFault | undefined {
    const text = command.join(' ');
    const found = this.tasks.find(([key, f]) => text.includes(key) && (f.times === undefined || f.times > 0));
    if (found?.[1].times !== undefined) found[1].times--;
    if (found) this.fired.push(`task "${text}": ${JSON.stringify(found[1])}`);
    return found?.[1];
  }

  /** The fault to apply to this call, if one is armed for it (and for the calling state). */
  apiFault(service: string, operation: string, input?: unknown) {
    const { state, folder } = invocation.getStore() ?? {};
    const fault = this.api.find(
      (f) =>
        (f.service === '*' || f.service === service) &&
        (f.operation === '*' || f.operation === operation) &&
        (f.state === undefined || f.state === state) &&
        (f.folder === undefined || f.folder === folder) &&
        (f.resource === undefined || names(input, f.resource)) &&
        f.times > 0,
    );
    if (!fault) return undefined;
    if (fault.after > 0) {
      fault.after--;
      return undefined;
    }
    fault.times--;
    this.fired.push(
      `${state ? `${state}: ` : fault.folder ? `${fault.folder}: ` : ''}${service}.${operation}: ${fault.mode === 'timeout' ? 'timed out' : fault.error}`,
    );
    return fault;
  }

  /** What an operator does now that a release entered `state`, if anything is armed for it. */
  operatorAction(state: string): OperatorFault['action'] | undefined {
    const fault = this.operator.find((f) => f.state === state && f.times > 0);
    if (!fault) return undefined;
    fault.times--;
    this.fired.push(`${state}: operator ${fault.action}`);
    return fault.action;
  }

  /** A crash or hang armed for the invocation of `folder` serving `state` (if any). */
  lambdaFault(state: string | undefined, folder?: string): LambdaFault | undefined {
    const fault = this.lambda.find(
      (f) =>
        f.times > 0 &&
        ((state !== undefined && f.state === state) || (f.folder !== undefined && f.folder === folder)),
    );
    if (!fault) return undefined;
    fault.times--;
    this.fired.push(`${state ?? folder}: ${fault.kind}`);
    return fault;
  }

  /** How many copies of this event to deliver (0 dropped, 1, or 2 duplicated) and how late. */
  copies(detailType: string): { count: number; delayMs: number } {
    const fault = this.events.find((f) => f.detailType === detailType && f.times > 0);
    if (!fault) return { count: 1, delayMs: 0 };
    fault.times--;
    this.fired.push(`${detailType}: ${fault.action}`);
    if (fault.action === 'delay') return { count: 1, delayMs: (fault.delaySeconds ?? 120) * 1000 };
    return { count: fault.action === 'drop' ? 0 : 2, delayMs: 0 };
  }
}
