/**
 * Local Step Functions: runs the ASL files in aws-local-stepfunctions with every Task wired to the
 * real handler, and answers the SFN API the functions call (StartExecution, DescribeExecution,
 * SendTaskSuccess/Failure). `.waitForTaskToken` Tasks get a fresh token per Task, registered here
 * until a SendTask* call settles it or the Task's TimeoutSeconds closes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { awsError } from './account/errors.ts';
import { buildStateMachine } from './asl-validation.ts';
import type { LocalLambda } from './lambda.ts';

const CALLBACK_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
/** The Lambda integration, synchronous: the state machine invokes a function (a Lambda hook) and takes its answer. */
const INVOKE_RESOURCE = 'arn:aws:states:::lambda:invoke';
/** Step Functions' limit on a state's input, output and result: 256 KiB (Step Functions quotas). */
const MAX_PAYLOAD_BYTES = 256 * 1024;
/** The context's one static token; the runner swaps it for a fresh one per waiting Task. */
const STATIC_TOKEN = 'switchyard-local-static-task-token';
/** Likewise `$$.State.EnteredTime`: swapped for the time the waiting Task began. */
const STATIC_ENTERED_TIME = 'switchyard-local-static-entered-time';

type Json = unknown;
interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Parameters?: { Payload?: Record<string, unknown> };
  Branches?: { States: Record<string, AslState> }[];
  ItemProcessor?: { States: Record<string, AslState> };
}
interface AslDefinition {
  States: Record<string, AslState>;
  StartAt: string;
}

/**
 * AWS resolves a Task's `TimeoutSecondsPath` against the state input; aws-local-stepfunctions 3
 * resolves it against the effective Parameters. For callback Tasks the runner rewrites the path to
 * the Payload field that carries the same value (`"traffic.$": "$.traffic"` turns
 * `$.traffic.bakeSeconds` into `$.Payload.traffic.bakeSeconds`), so both engines read one number.
 */
const localTimeoutPaths = (states: Record<string, AslState>) => {
  for (const [name, state] of Object.entries(states)) {
    for (const branch of state.Branches ?? []) localTimeoutPaths(branch.States);
    if (state.ItemProcessor) localTimeoutPaths(state.ItemProcessor.States);
    const path = state.TimeoutSecondsPath;
    if (!path) continue;
    const carried = Object.entries(state.Parameters?.Payload ?? {}).find(
      ([key, value]) =>
        key.endsWith('.$') && typeof value === 'string' && (path === value || path.startsWith(`${value}.`)),
    );
    if (!carried) {
      throw new Error(
        `state ${name}: the local runtime needs TimeoutSecondsPath ${path} to be passed in the Payload too`,
      );
    }
    const [key, value] = carried as [string, string];
    state.TimeoutSecondsPath = `$.Payload.${key.slice(0, -2)}${path.slice(value.length)}`;
  }
};

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  /**
   * What Standard Workflows bill: a transition each time a state runs, and "each retry will be
   * charged as an additional state transition" (aws.amazon.com/step-functions/pricing, read
   * 2026-12-04). So a state entered once and retried twice counts 3.
   */
  stateTransitions: number;
  /** Of those, the retries (a Retry rule running the state again). */
  retries: number;
  /** Virtual time each state was entered, in order. */
  history: { state: string; type: string; at: number }[];
  done: Promise<void>;
}

/** ListExecutions' `statusFilter` values (API_ListExecutions). */
const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];

/** What DescribeExecution and ListExecutions both say of an execution. */
const summaryOf = (e: LocalExecution) => ({
  executionArn: e.executionArn,
  stateMachineArn: e.stateMachineArn,
  name: e.name,
  status: e.status,
  startDate: e.startDate,
  stopDate: e.stopDate,
});

export interface StepFunctionsHooks {
  onStateEntered?: (execution: LocalExecution, state: string, type: string) => void;
  onExecutionEnded?: (execution: LocalExecution) => void;
}

/** Stops a running execution (the engine's abort). */
type Abort = () => void;

interface PendingToken {
  executionArn: string;
  state: string;
  resolve: (value: Json) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const validName = /^[A-Za-z0-9_-]{1,80}$/;

/** The payload with the context's static stand-ins replaced by this Task's token and entered time. */
const replaceStatics = (value: Json, token: string, enteredTime: string): Json => {
  if (value === STATIC_TOKEN) return token;
  if (value === STATIC_ENTERED_TIME) return enteredTime;
  if (Array.isArray(value)) return value.map((v) => replaceStatics(v, token, enteredTime));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, replaceStatics(v, token, enteredTime)]),
    );
  }
  return value;
};

export class LocalStepFunctions {
  readonly executions = new Map<string, LocalExecution>();
  /**
   * Executions started and not yet ended: what `running()` looks through. The clock asks it at
   * every step, and filtering every execution ever started made a 1,000-release run quadratic.
   */
  private readonly live = new Set<LocalExecution>();
  private readonly definitions = new Map<string, AslDefinition>();
  private readonly tokens = new Map<string, PendingToken>();
  private readonly closedTokens = new Set<string>();
  /** The text each definition was parsed from: the engine's validation is cached by it. */
  private readonly texts = new WeakMap<object, string>();

  constructor(
    private readonly lambda: LocalLambda,
    private readonly region: string,
    private readonly account: string,
    private readonly hooks: StepFunctionsHooks = {},
    /** The users' own functions (Lambda hooks), which the state machine invokes through INVOKE_RESOURCE. */
    private readonly userFunctions?: (functionName: string, payload: Json) => Promise<Json>,
  ) {}

  /** Registers a state machine from its substituted ASL text; returns its ARN. */
  createStateMachine(name: string, definitionText: string): string {
    const arn = `arn:aws:states:${this.region}:${this.account}:stateMachine:${name}`;
    const definition = JSON.parse(definitionText) as AslDefinition;
    localTimeoutPaths(definition.States);
    this.definitions.set(arn, definition);
    this.texts.set(definition, definitionText);
    return arn;
  }

  /**
   * Finished executions' records, for saving a local account (nothing may be running). `view`: a
   * picture for readers only (the dashboard), running executions included; never restored to run.
   */
  snapshot(options: { view?: boolean } = {}): Omit<LocalExecution, 'done'>[] {
    if (!options.view && this.running().length > 0)
      throw new Error('cannot save while executions are running');
    return [...this.executions.values()].map(({ done: _done, ...rest }) => rest);
  }

  /** Puts saved execution records back (names stay taken, DescribeExecution answers). */
  restore(saved: Omit<LocalExecution, 'done'>[]) {
    for (const execution of saved) {
      const restored = { ...execution, done: Promise.resolve() };
      this.executions.set(execution.executionArn, restored);
      // A picture for readers (`view`) may hold executions that were running when it was taken.
      if (restored.status === 'RUNNING') this.live.add(restored);
    }
  }

  running(): LocalExecution[] {
    return [...this.live].filter((e) => e.status === 'RUNNING');
  }

  /**
   * Whether any execution is running: what the clock asks at every step. It stops at the first
   * running one, where `running()` copied all of them each time: at 1,000 releases at once, that
   * copy grew with every release started, at every one of the run's timer events.
   */
  anyRunning(): boolean {
    for (const e of this.live) if (e.status === 'RUNNING') return true;
    return false;
  }

  // --- SFN API (called by the functions through the real SFNClient) -----------------------

  StartExecution(input: { stateMachineArn: string; name?: string; input?: string }) {
    const definition = this.definitions.get(input.stateMachineArn);
    if (!definition)
      throw awsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${input.stateMachineArn}'`);
    const name = input.name ?? randomBytes(16).toString('hex');
    if (!validName.test(name)) throw awsError('InvalidName', `Invalid Name: '${name}'`);
    const smName = input.stateMachineArn.split(':').at(-1);
    const executionArn = `arn:aws:states:${this.region}:${this.account}:execution:${smName}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Same name: an open execution with identical input is returned as is; anything else is a conflict.
      if (existing.status === 'RUNNING' && existing.input === (input.input ?? '{}')) {
        return { executionArn, startDate: existing.startDate };
      }
      throw awsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const execution = this.run(definition, input.stateMachineArn, executionArn, name, input.input ?? '{}');
    return { executionArn, startDate: execution.startDate };
  }

  /**
   * Stops a running execution, as an operator can in AWS: it ends ABORTED, and its parked tasks'
   * tokens are closed. A stopped execution runs none of its own clean-up (AWS StopExecution).
   */
  StopExecution(input: { executionArn: string; error?: string; cause?: string }) {
    const e = this.executions.get(input.executionArn);
    if (!e) throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${input.executionArn}'`);
    if (e.status === 'RUNNING') {
      e.error = input.error;
      e.cause = input.cause;
      this.aborts.get(input.executionArn)?.();
    }
    return { stopDate: new Date() };
  }

  private readonly aborts = new Map<string, Abort>();

  DescribeExecution(input: { executionArn: string }) {
    const e = this.executions.get(input.executionArn);
    if (!e) throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${input.executionArn}'`);
    return { ...summaryOf(e), input: e.input, output: e.output, error: e.error, cause: e.cause };
  }

  /**
   * A state machine's executions, most recent first, one page at a time (API_ListExecutions:
   * `maxResults` up to 1,000, 0 or none meaning 100; `statusFilter`; an opaque `nextToken`). AWS's
   * answer is eventually consistent: an execution started or ended a moment ago may be listed as
   * it was. Here it is always current, so callers must handle a stale list by their own design.
   */
  ListExecutions(input: {
    stateMachineArn: string;
    statusFilter?: string;
    maxResults?: number;
    nextToken?: string;
  }) {
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/.test(input.stateMachineArn ?? ''))
      throw awsError('InvalidArn', `Invalid Arn: '${input.stateMachineArn}'`);
    if (!this.definitions.has(input.stateMachineArn))
      throw awsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${input.stateMachineArn}'`);
    if (input.statusFilter !== undefined && !EXECUTION_STATUSES.includes(input.statusFilter))
      throw awsError(
        'ValidationException',
        `statusFilter must be one of ${EXECUTION_STATUSES.join(', ')}, not '${input.statusFilter}'`,
      );
    const size = input.maxResults ?? 0;
    if (!Number.isInteger(size) || size < 0 || size > 1000)
      throw awsError('ValidationException', `maxResults must be between 0 and 1000, not ${size}`);
    const from = input.nextToken === undefined ? 0 : Number(input.nextToken);
    if (input.nextToken !== undefined && !(Number.isInteger(from) && from > 0))
      throw awsError('InvalidToken', `Invalid Token: '${input.nextToken}'`);
    // Only the running ones are looked through when only they are asked for (the reconciler's list).
    const all = [...(input.statusFilter === 'RUNNING' ? this.live : this.executions.values())]
      .filter((e) => e.stateMachineArn === input.stateMachineArn)
      .filter((e) => input.statusFilter === undefined || e.status === input.statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const page = all.slice(from, from + (size || 100));
    const next = from + page.length;
    return {
      executions: page.map(summaryOf),
      nextToken: next < all.length ? String(next) : undefined,
    };
  }

  SendTaskSuccess(input: { taskToken: string; output: string }) {
    const pending = this.take(input.taskToken);
    let output: Json;
    try {
      output = JSON.parse(input.output);
    } catch {
      throw awsError('InvalidOutput', 'Invalid Output: not valid JSON');
    }
    pending.resolve(output);
    return {};
  }

  SendTaskFailure(input: { taskToken: string; error?: string; cause?: string }) {
    const pending = this.take(input.taskToken);
    pending.reject(Object.assign(new Error(input.cause ?? ''), { name: input.error ?? 'States.TaskFailed' }));
    return {};
  }

  private take(token: string): PendingToken {
    const pending = this.tokens.get(token);
    if (!pending) {
      if (this.closedTokens.has(token)) {
        throw awsError('TaskTimedOut', 'Task Timed Out: the task has already been closed');
      }
      throw awsError('InvalidToken', 'Invalid Token');
    }
    this.close(token);
    return pending;
  }

  private close(token: string) {
    const pending = this.tokens.get(token);
    if (pending) clearTimeout(pending.timer);
    this.tokens.delete(token);
    this.closedTokens.add(token);
  }

  // --- execution ---------------------------------------------------------------------------

  private overrides(definition: AslDefinition, executionArn: string) {
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    const parallels = new Map<string, string[]>();
    const callbackStates = new Set<string>();
    // Every enclosing Parallel and Map: a failed one stops whatever is parked anywhere inside it.
    const visit = (states: Record<string, AslState>, enclosing: string[] = []) => {
      for (const [name, state] of Object.entries(states)) {
        for (const parallel of enclosing) parallels.get(parallel)?.push(name);
        if (state.Type === 'Parallel') {
          parallels.set(name, []);
          for (const branch of state.Branches ?? []) visit(branch.States, [...enclosing, name]);
        }
        // A Map's processor: a failed Map stops its other iterations' parked tasks, like a Parallel.
        if (state.Type === 'Map' && state.ItemProcessor) {
          parallels.set(name, []);
          visit(state.ItemProcessor.States, [...enclosing, name]);
        }
        if (state.Type !== 'Task' || !state.Resource) continue;
        if (state.Resource === CALLBACK_RESOURCE) {
          // Only a Task timed by TimeoutSecondsPath needs its token closed when it fails (the others
          // close their own at TimeoutSeconds, or when their invocation fails). Closed by state
          // name, that would also close a concurrent Map iteration's token of the same state: such
          // states (the group's waits) all have a fixed TimeoutSeconds.
          if (!state.TimeoutSeconds) callbackStates.add(name);
          handlers[name] = (params) =>
            this.callbackTask(name, state, executionArn, params as { FunctionName: string; Payload: Json });
        } else if (state.Resource === INVOKE_RESOURCE) {
          handlers[name] = async (params) => {
            const { FunctionName, Payload } = params as { FunctionName: string; Payload: Json };
            if (!this.userFunctions) throw new Error(`state ${name}: no functions to invoke`);
            const result = await this.userFunctions(FunctionName, Payload);
            // A state's result is at most 256 KiB (Step Functions quotas). Past it the execution fails
            // with States.DataLimitExceeded, which no Catch (States.ALL included) catches.
            const bytes = Buffer.byteLength(JSON.stringify(result));
            if (bytes > MAX_PAYLOAD_BYTES)
              throw Object.assign(
                new Error(
                  `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${MAX_PAYLOAD_BYTES}).`,
                ),
                { name: 'States.DataLimitExceeded', isCatchable: false, isRetryable: false },
              );
            return result;
          };
        } else if (state.Resource.startsWith('arn:aws:lambda:')) {
          const folder = this.lambda.folderOf(state.Resource);
          // `$$.State.EnteredTime` is when the state was entered: the same for each of its retries
          // (a retry invokes again with the same input), a new time for a new visit.
          // Keyed by a digest of the input, not the input: an execution keeps these to its end, and at
          // scale the inputs (each with the whole plan) were hundreds of MiB across 1,000 executions.
          const entered = new Map<string, string>();
          handlers[name] = (input) => {
            const key = createHash('sha1').update(JSON.stringify(input)).digest('base64');
            if (!entered.has(key)) entered.set(key, new Date().toISOString());
            return this.lambda.invoke(
              folder,
              replaceStatics(input, STATIC_TOKEN, entered.get(key) as string),
              name,
            );
          };
        } else {
          throw new Error(`state ${name}: resource ${state.Resource} is not supported by the local runtime`);
        }
      }
    };
    visit(definition.States);
    return { handlers, parallels, callbackStates };
  }

  private async callbackTask(
    state: string,
    definition: AslState,
    executionArn: string,
    params: { FunctionName: string; Payload: Json },
  ) {
    const token = `${randomBytes(24).toString('base64url')}`;
    const enteredTime = new Date().toISOString();
    const result = new Promise<Json>((resolve, reject) => {
      // The engine's own TimeoutSeconds timer fails the Task; this one (1 ms later) closes the token
      // so a late SendTaskSuccess gets TaskTimedOut, as in AWS. A TimeoutSecondsPath is evaluated by
      // the engine only: those tokens close when the state fails (see run()).
      const timer = definition.TimeoutSeconds
        ? setTimeout(() => this.close(token), definition.TimeoutSeconds * 1000 + 1)
        : undefined;
      this.tokens.set(token, { executionArn, state, resolve, reject, timer });
    });
    result.catch(() => {}); // settled by the engine's race; never an unhandled rejection here
    try {
      await this.lambda.invoke(
        this.lambda.folderOf(params.FunctionName),
        replaceStatics(params.Payload, token, enteredTime),
        state,
      );
    } catch (error) {
      this.close(token);
      throw error;
    }
    return result;
  }

  private closeTokens(executionArn: string, states?: string[]) {
    for (const [token, pending] of this.tokens) {
      if (pending.executionArn === executionArn && (!states || states.includes(pending.state)))
        this.close(token);
    }
  }

  private run(
    definition: AslDefinition,
    stateMachineArn: string,
    executionArn: string,
    name: string,
    input: string,
  ): LocalExecution {
    const startDate = new Date();
    const execution: LocalExecution = {
      executionArn,
      stateMachineArn,
      name,
      input,
      status: 'RUNNING',
      startDate,
      stateTransitions: 0,
      retries: 0,
      history: [],
      done: Promise.resolve(),
    };
    this.executions.set(executionArn, execution);
    this.live.add(execution);
    const { handlers, parallels, callbackStates } = this.overrides(definition, executionArn);
    // Checked once per definition text (local/asl-validation.ts): checking at every construction was
    // a third of the engine's CPU time at scale, and a fifth of each case in the test suite.
    const machine = buildStateMachine(definition, this.texts.get(definition) as string);
    const parsedInput = JSON.parse(input) as Json;
    const run = machine.run(parsedInput as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: parsedInput as never,
          StartTime: startDate.toISOString(),
        },
        StateMachine: { Id: stateMachineArn, Name: stateMachineArn.split(':').at(-1) },
        Task: { Token: STATIC_TOKEN },
        State: { EnteredTime: STATIC_ENTERED_TIME },
      },
    });

    const events = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') {
          execution.stateTransitions++;
          execution.history.push({ state: event.state.name, type: event.state.type, at: Date.now() });
          this.hooks.onStateEntered?.(execution, event.state.name, event.state.type);
        } else if (event.type === 'StateRetried') {
          execution.stateTransitions++;
          execution.retries++;
        } else if (
          (event.type === 'StateFailed' || event.type === 'StateCaught') &&
          parallels.has(event.state.name)
        ) {
          // A failed Parallel stops its other branches: their parked tasks are closed, as in AWS.
          this.closeTokens(executionArn, parallels.get(event.state.name));
        } else if (event.type === 'StateFailed' && callbackStates.has(event.state.name)) {
          // A parked Task that failed (e.g. States.Timeout from TimeoutSecondsPath) closes its token.
          this.closeTokens(executionArn, [event.state.name]);
        } else if (event.type === 'ExecutionFailed') {
          execution.error = event.Error;
          execution.cause = typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause);
        }
      }
    })();

    this.aborts.set(executionArn, () => {
      execution.status = 'ABORTED';
      run.abort();
    });
    execution.done = run.result
      .then(
        (output) => {
          execution.status = 'SUCCEEDED';
          execution.output = JSON.stringify(output);
        },
        (error: Error & { cause?: unknown }) => {
          if (execution.status === 'ABORTED' || error.name === 'ExecutionAbortedError') {
            execution.status = 'ABORTED';
            return;
          }
          execution.status = error.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED';
          const inner = error.cause as { name?: string; message?: string } | undefined;
          execution.error ??= inner?.name ?? error.name;
          execution.cause ??= inner?.message ?? error.message;
        },
      )
      .then(() => events.catch(() => {}))
      .finally(() => {
        execution.stopDate = new Date();
        this.live.delete(execution);
        this.aborts.delete(executionArn);
        this.closeTokens(executionArn);
        this.hooks.onExecutionEnded?.(execution);
      });
    return execution;
  }
}
