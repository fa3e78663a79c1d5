import { randomBytes } from 'node:crypto';
/**
 * The embedded default: whole releases in one process against a simulated AWS account, with the
 * same ASL files and the same function code that run in AWS.
 *
 * What is real: the state machine definitions (run by aws-local-stepfunctions), every handler with
 * its middy chain, the AWS SDK commands and retry logic, DynamoDB semantics (dynalite on loopback),
 * HTTP probes over a socket. What is simulated: the AWS services behind the SDK (ECS, ELBv2, RDS,
 * ECR, SNS, SFN API), EventBridge delivery, and time.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Not faked by the virtual clock (it replaces the globals only): real waiting for real people.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TargetsFile } from '../functions/shared/config.ts';
import { loadTargetsFile, validatedTargetsDocument } from '../functions/shared/config.ts';
import {
  alarmStatePattern,
  ecrPushPattern,
  ecrPutImageCloudTrailPattern,
  ecsDeploymentPattern,
  executionEndedPattern,
  hookTaskStoppedPattern,
  rdsSnapshotPattern,
  releaseRequestedPattern,
  serviceTaskStoppedPattern,
  soakCompletedPattern,
} from '../functions/shared/event-patterns.ts';
import { attachmentOf, networkFunctions } from '../functions/shared/network.ts';
import { releaseIdFor, releaseRequest, rollbackRequest } from '../functions/shared/requests.ts';
import {
  createStore,
  type ReleaseRecord,
  type Store,
  type Tables,
  tableSchemas,
} from '../functions/shared/store.ts';
import { type TaskDefinitionFile, taskDefinitionKey } from '../functions/shared/task-definition.ts';
import { type IfRunning, TriggerSource } from '../functions/shared/vocabulary.ts';
import {
  allFunctionFolders,
  asyncInvokeConfig,
  type FunctionFolder,
  releaseDefinitionText,
  releaseFunctions,
  rollbackDefinitionText,
  rollbackFunctions,
  substitute,
  warmAlwaysList,
  warmUpList,
} from '../state-machines/definitions.ts';
import { SimulatedAccount } from './account/index.ts';
import { type RateLimit, RateLimiter } from './account/rate-limits.ts';
import { ApiFront } from './api-front.ts';
import { startApprovalServer } from './approval-server.ts';
import { type AwsEvent, EventBus } from './bus.ts';
import { IoTracker, VirtualClock } from './clock.ts';
import { resetTables, skipSigning, startDynalite } from './dynamo.ts';
import { PARTITION_WRITES_PER_SECOND, PartitionLimits, partitionKeysOf } from './dynamo-partitions.ts';
import { ASYNC_RETRY_DELAYS_MS, type ConcurrencyLimits } from './execution-environments.ts';
import { type FaultPlan, Faults, invocation } from './faults.ts';
import { LocalLambda } from './lambda.ts';
import { seededRandom } from './rng.ts';
import { type LocalExecution, LocalStepFunctions } from './step-functions.ts';
import { attachAccount, retryPerEnvironment, trackIo } from './transport.ts';

/** The release state machine's name, as the stack names it (`<stack>-release`, stack `switchyard`). */
const RELEASE_MACHINE = 'switchyard-release';

/**
 * Virtual milliseconds a DynamoDB call takes (min, max): "single-digit millisecond" is what
 * DynamoDB promises; the range is this model's assumption. The real call to dynalite takes no
 * virtual time, so without this Switchyard's own reads and writes would look free.
 */
const DYNAMO_LATENCY_MS: [number, number] = [3, 9];

/** Captured before any clock is installed (a reference, not a live binding): real time always. */
const realSetTimeout = globalThis.setTimeout;
const realSleep = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));

/** Switchyard's event bus, as the stack names it for the stack `switchyard` (infra/stack.ts). */
export const EVENT_BUS = 'switchyard-releases';

export interface ProgressLine {
  /** Virtual milliseconds since the runtime started. */
  elapsedMs: number;
  source: string;
  text: string;
}

export interface RuntimeOptions {
  /** Targets config, validated as a user's would be. */
  targetsFile: string;
  seed?: number;
  faults?: FaultPlan;
  /** Virtual start time (default 2026-01-05T09:00:00Z). */
  startTime?: Date;
  /** Seconds between reconciler runs (default 60). */
  reconcileEverySeconds?: number;
  onProgress?: (line: ProgressLine) => void;
  /** Function log level (Powertools); default SILENT so progress stays readable. */
  logLevel?: string;
  /**
   * EventBridge rules and the reconciler schedule (default on). Off, nothing runs by itself:
   * for tests that call one step's `run()` and must not race the automation.
   */
  automation?: boolean;
  /** Enforce these API rate limits in the simulated account (e.g. `publishedRateLimits`). */
  rateLimits?: RateLimit[];
  /**
   * Lambda's concurrency for Switchyard's functions (default Lambda's own: 1,000 concurrent
   * executions, 1,000 new environments per 10 s per function), lower to watch throttling.
   */
  lambdaLimits?: ConcurrencyLimits;
  /**
   * Idle environments, their init done, each function starts with: as in an account where the same
   * release ran moments ago (default: none, as in a new account or after they were shut down). Like
   * any idle environment, one not used within 5 minutes is shut down.
   */
  warmEnvironments?: Record<string, number>;
  /**
   * Replaces both state machines' top-level `TimeoutSeconds` (the stack's: 14 days for a release,
   * 2 for a rollback), so a test can watch an execution time out (TIMED_OUT) in minutes.
   */
  executionTimeoutSeconds?: number;
}

/** The names the local runtime gives Switchyard's tables (the conformance and IAM tiers use them too). */
export const TABLES: Tables = {
  locks: 'switchyard-locks',
  releases: 'switchyard-releases',
  waits: 'switchyard-waits',
  approvals: 'switchyard-approvals',
};
/** How long a connection to an unreachable address hangs before the probe gives up (its own 5 s timeout). */
const UNREACHABLE_TIMEOUT_MS = 5000;
/** Longest a settle may run in virtual time before it is called stuck. */
const MAX_VIRTUAL_MS = 3 * 24 * 3600 * 1000;

interface ProcessState {
  targetsFile: string;
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  store: Store;
  close: () => Promise<void>;
}

/**
 * Process-wide pieces: handlers read their environment once, at import, like a cold start, so the
 * dynalite endpoint and the targets file are fixed for the process. Each runtime gets empty tables.
 */
let processState: Promise<ProcessState> | undefined;
const realRandom = Math.random;
let current: LocalRuntime | undefined;

const prepareProcess = (targetsFile: string, logLevel: string): Promise<ProcessState> => {
  if (processState) return processState;
  // Before anything is kept for the process: a file that fails validation leaves no state behind.
  const functionsTargets = writeValidatedTargets(targetsFile);
  // As the stack sets it: the per-member steps kept warm for the largest group (definitions.ts).
  const largestGroup = Math.max(0, ...loadTargetsFile(targetsFile).targets.map((t) => t.group.length));
  processState = (async () => {
    const dynalite = await startDynalite();
    const approvalServer = await startApprovalServer(() => current);
    // A Lambda function's environment has only the AWS_* variables Lambda sets: no profile, shared
    // config file, retry, endpoint or FIPS settings. The clients take the SDK's defaults (the standard
    // retry mode), whatever the developer's shell or ~/.aws/config would choose.
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(tmpdir(), 'switchyard-no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'switchyard-no-aws-credentials'),
      SWITCHYARD_DYNAMODB_ENDPOINT: dynalite.endpoint,
      // What the stack bundles: the file validated once, with its defaults (validatedTargetsDocument).
      SWITCHYARD_TARGETS_FILE: functionsTargets,
      LOCKS_TABLE: TABLES.locks,
      RELEASES_TABLE: TABLES.releases,
      WAITS_TABLE: TABLES.waits,
      APPROVALS_TABLE: TABLES.approvals,
      APPROVAL_KEY_SECRET: 'switchyard/approval-signing-key',
      SLACK_SIGNING_SECRET_SECRET: 'switchyard/slack-signing-secret',
      SLACK_DECISIONS_FUNCTION: 'switchyard-slack-decisions',
      SWITCHYARD_EVENT_BUS: EVENT_BUS,
      // The loopback approval server stands in for the API Gateway endpoint.
      APPROVAL_BASE_URL: approvalServer.url,
      RELEASE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release',
      WARM_UP_FUNCTIONS: warmUpList(largestGroup, (folder) => `switchyard-${folder}`),
      WARM_ALWAYS_FUNCTIONS: warmAlwaysList(largestGroup, (folder) => `switchyard-${folder}`),
      POWERTOOLS_LOG_LEVEL: logLevel,
      POWERTOOLS_DEV: 'true',
    });
    const clients = await import('../functions/shared/clients.ts');
    const simulated = [
      clients.ecs,
      clients.elbv2,
      clients.rds,
      clients.ecr,
      clients.sfn,
      clients.sns,
      clients.ses,
      clients.lambda,
      clients.cloudwatch,
      clients.logs,
      clients.events,
      clients.secrets,
    ];
    for (const client of simulated) {
      attachAccount(client, () => {
        if (!current) throw new Error('no local runtime is active');
        return current.account;
      });
    }
    // Requests reach dynalite inside this process (see inProcessHandler), before any call is made.
    (clients.dynamo.config as { requestHandler: unknown }).requestHandler = dynalite.handler;
    skipSigning(clients.dynamo);
    // The document client shares the DynamoDB client's config, so its retries are covered too.
    for (const client of [...simulated, clients.dynamo])
      retryPerEnvironment(client, () => invocation.getStore()?.environment);
    trackIo(clients.dynamo, {
      begin: () => {
        current?.io.begin();
        if (current) {
          current.dynamoCalls++;
          current.dynamoLog.push({ at: Date.now(), by: invocation.getStore()?.folder });
        }
      },
      end: () => current?.io.end(),
      serial: (call) => (current ? current.io.serial(call) : call()),
      // Only a function's calls take virtual time: a test or the CLI reading the store directly
      // runs outside the loop that moves the clock.
      latencyMs: () => (current && invocation.getStore() ? current.dynamoLatencyMs() : 0),
      fault: (operation, input) =>
        current?.faults.apiFault('DynamoDB', operation) ??
        // A function's write past its item's partition throughput (local/dynamo-partitions.ts).
        (current && invocation.getStore() && !current.partitions.admits(operation, input)
          ? {
              error: 'ProvisionedThroughputExceededException',
              message: `DynamoDB.${operation}: KeyRangeThroughputExceeded: the item's partition admits ${PARTITION_WRITES_PER_SECOND} writes a second`,
              status: 400,
              mode: 'error',
            }
          : undefined),
      record: (operation, input) =>
        current?.account.iam.record(invocation.getStore()?.folder, 'DynamoDB', operation, input),
    });
    return {
      targetsFile,
      dynamo: clients.dynamo,
      doc: clients.doc,
      store: createStore(clients.doc, TABLES),
      close: dynalite.close,
    };
  })();
  return processState;
};

export class LocalRuntime {
  readonly io = new IoTracker();
  /** DynamoDB's write throughput per item's partition, for the functions' writes. */
  readonly partitions = new PartitionLimits(partitionKeysOf({ ...TABLES }, tableSchemas));
  /** AWS WAF and API Gateway in front of the approval functions (local/api-front.ts). */
  readonly apiFront = new ApiFront();
  readonly clock = new VirtualClock();
  readonly account: SimulatedAccount;
  readonly bus: EventBus;
  readonly lambda: LocalLambda;
  readonly sfn: LocalStepFunctions;
  readonly faults: Faults;
  readonly targets: TargetsFile;
  readonly tables = TABLES;
  /** What the simulated Slack app signs interaction requests with (tests sign with it). */
  readonly slackSigningSecret = randomBytes(16).toString('hex');
  readonly releaseStateMachineArn: string;
  readonly rollbackStateMachineArn: string;
  readonly startedAt: number;
  /** DynamoDB requests made by the functions (real, to dynalite). */
  dynamoCalls = 0;
  /** Virtual milliseconds the next DynamoDB call takes. */
  readonly dynamoLatencyMs: () => number;
  /** Every DynamoDB call: virtual time and the function that made it. */
  readonly dynamoLog: { at: number; by?: string }[] = [];
  private reconciler: ReturnType<typeof setInterval> | undefined;
  private readonly realFetch = globalThis.fetch;
  private readonly progress: (source: string, text: string) => void;

  private constructor(
    readonly options: RuntimeOptions,
    readonly store: Store,
    /** The DynamoDB document client the functions use (dynalite on loopback). */
    readonly doc: DynamoDBDocumentClient,
  ) {
    const random = seededRandom(options.seed ?? 1);
    // Its own stream, so the other draws stay as they were.
    const dynamoRandom = seededRandom((options.seed ?? 1) * 104_729 + 3);
    this.dynamoLatencyMs = () => dynamoRandom.int(...DYNAMO_LATENCY_MS);
    this.faults = new Faults(options.faults);
    this.targets = loadTargetsFile(options.targetsFile);
    this.startedAt = (options.startTime ?? new Date('2026-01-05T09:00:00Z')).getTime();
    this.progress = (source, text) =>
      options.onProgress?.({ elapsedMs: Date.now() - this.startedAt, source, text });
    this.bus = new EventBus(random, this.faults, { account: '123456789012', region: 'us-east-1' });
    // Real traffic draws from its own stream too: a target with analysis changes no other draw.
    this.account = new SimulatedAccount(
      this.bus,
      this.faults,
      random,
      seededRandom((options.seed ?? 1) * 7_207 + 11),
    );
    // The stack's own bus (infra/stack.ts names it <stack>-releases): Switchyard's events go there.
    this.account.eventbridge.addBus(EVENT_BUS);
    if (options.rateLimits) this.account.rateLimiter = new RateLimiter(options.rateLimits);
    // The account's own secrets: the approval-link key, and the Slack app's signing secret.
    this.account.secrets.put('switchyard/approval-signing-key', randomBytes(32).toString('hex'));
    this.account.secrets.put('switchyard/slack-signing-secret', this.slackSigningSecret);
    this.lambda = new LocalLambda(
      this.account.region,
      this.account.accountId,
      this.faults,
      options.lambdaLimits,
    );
    const folderOfName = (name: string) =>
      this.lambda.folderOf(name.includes(':') ? name : `:function:${name}`);
    this.account.lambda.run = (name, payload, queuedAt) =>
      this.lambda.invokeAsync(folderOfName(name), payload, queuedAt);
    this.account.lambda.runNow = (name, payload) => this.lambda.invoke(folderOfName(name), payload);
    this.account.lambda.retryAttemptsOf = (name) => asyncInvokeConfig(folderOfName(name)).retryAttempts;
    this.sfn = new LocalStepFunctions(
      this.lambda,
      this.account.region,
      this.account.accountId,
      {
        onStateEntered: (execution, state, type) => {
          if (type === 'Task' || type === 'Wait') this.progress(execution.name, state);
          if (execution.stateMachineArn === this.releaseStateMachineArn) this.operatorFault(execution, state);
        },
        onExecutionEnded: (execution) => {
          // What Step Functions sends EventBridge when an execution ends (for every status).
          this.bus.emit('aws.states', 'Step Functions Execution Status Change', [execution.executionArn], {
            executionArn: execution.executionArn,
            stateMachineArn: execution.stateMachineArn,
            name: execution.name,
            status: execution.status,
            startDate: execution.startDate.getTime(),
            stopDate: (execution.stopDate ?? new Date()).getTime(),
          });
          // A routine outcome (Aborted, RolledBack, …) is a succeeded execution: name the outcome.
          const outcome = execution.output
            ? (JSON.parse(execution.output) as { outcome?: string }).outcome
            : undefined;
          const detail = execution.error ?? outcome;
          this.progress(execution.name, `execution ${execution.status}${detail ? ` (${detail})` : ''}`);
        },
      },
      (functionName, payload) => {
        // The release state machine's role invokes a Lambda hook's function: checked as a call of its own.
        this.account.iam.record(`state-machine:${RELEASE_MACHINE}`, 'Lambda', 'Invoke', {
          FunctionName: functionName,
        });
        const invoke = () =>
          this.account.hookFunctions.invoke(
            functionName,
            payload as Record<string, unknown>,
          ) as Promise<never>;
        // A function that does not exist is refused as such, and takes no concurrency.
        if (!this.account.hookFunctions.has(functionName)) return invoke();
        return this.lambda.invokeUserFunction(functionName, invoke);
      },
    );
    this.account.sfn = this.sfn as never;
    this.account.ecs.onChange((text) => this.progress('ecs', text));
    this.account.rds.onChange((text) => this.progress('rds', text));
    this.account.elbv2.onChange((text) => this.progress('elb', text));
    this.account.cloudwatch.onChange((text) => this.progress('cw', text));

    const arns = (table: Record<string, FunctionFolder>) =>
      Object.fromEntries(Object.entries(table).map(([key, folder]) => [key, this.lambda.arnOf(folder)]));
    const timed = (text: string) =>
      options.executionTimeoutSeconds === undefined
        ? text
        : JSON.stringify({ ...JSON.parse(text), TimeoutSeconds: options.executionTimeoutSeconds });
    this.releaseStateMachineArn = this.sfn.createStateMachine(
      RELEASE_MACHINE,
      timed(substitute(releaseDefinitionText(), arns(releaseFunctions))),
    );
    this.rollbackStateMachineArn = this.sfn.createStateMachine(
      'switchyard-rollback',
      timed(substitute(rollbackDefinitionText(), arns(rollbackFunctions))),
    );

    if (options.automation === false) return;
    const repositories = [...new Set(this.targets.targets.map((t) => t.image.repository))];
    // Every rule's target: the function, invoked asynchronously, the event's age counted from its first attempt.
    const toFunction = (folder: FunctionFolder) => (event: AwsEvent, firstAt: number) =>
      this.lambda.invokeAsync(folder, event, firstAt);
    this.bus.addRule({
      name: 'ecr-push',
      pattern: ecrPushPattern(repositories),
      deliver: toFunction('start-release'),
    });
    this.bus.addRule({
      name: 'ecr-pushers',
      pattern: ecrPutImageCloudTrailPattern(repositories),
      deliver: toFunction('record-pusher'),
    });
    this.bus.addRule({
      name: 'ecs-deployment',
      pattern: ecsDeploymentPattern,
      deliver: toFunction('wait-resume'),
    });
    this.bus.addRule({
      name: 'hook-task-stopped',
      pattern: hookTaskStoppedPattern,
      deliver: toFunction('wait-resume'),
    });
    const members = this.targets.targets.flatMap((t) =>
      t.group.flatMap((m) => [m.services.blue, m.services.green]),
    );
    if (members.length > 0)
      this.bus.addRule({
        name: 'group-tasks',
        pattern: serviceTaskStoppedPattern(members),
        deliver: toFunction('wait-resume'),
      });
    this.bus.addRule({
      name: 'rds-snapshot',
      pattern: rdsSnapshotPattern,
      deliver: toFunction('wait-resume'),
    });
    this.bus.addRule({
      name: 'execution-ended',
      pattern: executionEndedPattern([this.releaseStateMachineArn, this.rollbackStateMachineArn]),
      deliver: toFunction('recover-execution'),
    });
    // Switchyard's own bus: promotions on a completed soak, and releases requested by any CI.
    const automatic = [
      ...new Set(
        this.targets.targets.flatMap((t) => (t.promotesFrom?.automatic ? [t.promotesFrom.target] : [])),
      ),
    ];
    if (automatic.length > 0)
      this.bus.addRule({
        name: 'promotions',
        bus: EVENT_BUS,
        pattern: soakCompletedPattern(automatic),
        deliver: toFunction('promote'),
      });
    this.bus.addRule({
      name: 'release-requests',
      bus: EVENT_BUS,
      pattern: releaseRequestedPattern,
      deliver: toFunction('request-release'),
    });
    const alarms = [...new Set(this.targets.targets.flatMap((t) => t.alarms))];
    if (alarms.length > 0) {
      this.bus.addRule({
        name: 'alarm-state',
        pattern: alarmStatePattern(alarms),
        deliver: toFunction('wait-resume'),
      });
    }
  }

  /** The runtime active in this process, if any. */
  static active(): LocalRuntime | undefined {
    return current;
  }

  /** Starts a runtime with an empty simulated account; `setup` builds the world before time starts. */
  static async start(
    options: RuntimeOptions,
    setup?: (runtime: LocalRuntime) => Promise<void> | void,
  ): Promise<LocalRuntime> {
    if (current) throw new Error('another local runtime is active in this process; dispose() it first');
    const state = await prepareProcess(options.targetsFile, options.logLevel ?? 'SILENT');
    if (state.targetsFile !== options.targetsFile) {
      throw new Error(
        `this process runs targets ${state.targetsFile}; functions read their config once, at cold start`,
      );
    }
    await LocalLambda.preload(allFunctionFolders());
    await resetTables(state.dynamo, TABLES);
    // A fresh deployment: no function remembers a secret from the last runtime in this process.
    const { clearSecretCache } = await import('../functions/shared/secrets.ts');
    clearSecretCache();
    const runtime = new LocalRuntime(options, state.store, state.doc);
    current = runtime;
    try {
      await setup?.(runtime);
    } catch (error) {
      // A world that failed to build must not block the next runtime in this process.
      await runtime.account.close();
      current = undefined;
      throw error;
    }
    // What setup built existed before the run: stamped a minute before its start, not on real time.
    runtime.account.ecs.backdate(runtime.startedAt - 60_000);
    runtime.clock.install(runtime.startedAt);
    // On the virtual clock, so that they idle from the runtime's start like any environment.
    for (const [folder, count] of Object.entries(options.warmEnvironments ?? {}))
      for (let i = 0; i < count; i++) runtime.lambda.environments.prewarm(folder);
    // Retry jitter (the state machine engine's and the AWS SDK's) draws from Math.random: seeded
    // too, so a seed replays the same backoffs (a failing fast-check seed replays as it failed).
    Math.random = seededRandom((options.seed ?? 1) * 7919 + 17).next;
    runtime.trackFetch();
    if (options.automation === false) return runtime;
    // Alarms evaluate on the virtual clock, so they start only now that it runs.
    runtime.account.cloudwatch.start();
    runtime.account.traffic.start();
    // The stack's schedule is an EventBridge rule targeting the function (infra/stack.ts): a failed
    // run is retried as Lambda retries an asynchronous invocation, 1 and then 2 minutes later, beside
    // the next ticks (two reconcilers may then run at once, as in AWS).
    const tick = (attempt: number, firstAt: number) =>
      void runtime.lambda
        .invokeAsync('reconciler', { source: 'aws.events', 'detail-type': 'Scheduled Event' }, firstAt)
        .catch((error: Error) => {
          runtime.reconcilerFailures++;
          runtime.progress('reconciler', `failed: ${error.name}: ${error.message}`);
          const delay = ASYNC_RETRY_DELAYS_MS[attempt - 1];
          if (delay !== undefined) setTimeout(() => tick(attempt + 1, firstAt), delay);
        });
    runtime.reconciler = setInterval(() => tick(1, Date.now()), (options.reconcileEverySeconds ?? 60) * 1000);
    return runtime;
  }

  /** HTTP probes are real I/O too: virtual time must not move while one is in flight. */
  private trackFetch() {
    const real = this.realFetch;
    const attached = attachmentOf(this.targets);
    globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
      // Reach, as in AWS: an internal load balancer answers only inside its VPC, so a function not
      // attached to that VPC (networkFunctions + the targets' `network`) never connects. The
      // connection attempt hangs until the caller's timeout (the probe's 5 s).
      const url = new URL(String(args[0] instanceof Request ? args[0].url : args[0]));
      const lb =
        url.hostname === '127.0.0.1' ? this.account.elbv2.loadBalancerOnPort(Number(url.port)) : undefined;
      const folder = invocation.getStore()?.folder;
      if (lb?.scheme === 'internal') {
        const inside =
          !!folder && networkFunctions.includes(folder as FunctionFolder) && attached?.vpcId === lb.vpcId;
        if (!inside) {
          await new Promise((resolve) => setTimeout(resolve, UNREACHABLE_TIMEOUT_MS));
          throw new TypeError('fetch failed', {
            cause: Object.assign(
              new Error(`connect ETIMEDOUT ${lb.dnsName} (internal load balancer in ${lb.vpcId ?? 'a VPC'})`),
              {
                code: 'ETIMEDOUT',
              },
            ),
          });
        }
      }
      this.io.begin();
      try {
        return await real(...args);
      } finally {
        this.io.end();
      }
    };
  }

  /**
   * Pushes an image to ECR, which emits the `ECR Image Action` event a release starts from. With
   * `by` (an IAM ARN), CloudTrail's PutImage record naming the pusher follows (account/ecr-sns.ts).
   */
  push(
    repository: string,
    tag: string,
    options: { by?: string; cloudTrailDelaySeconds?: number } = {},
  ): { digest: string; event?: AwsEvent } {
    this.progress('ecr', `push ${repository}:${tag}${options.by ? ` by ${options.by}` : ''}`);
    return this.account.ecr.push(repository, tag, options);
  }

  /**
   * Starts a release by hand, as `switchyard release` does: the image is pushed without an event
   * and the execution started with `by` as the requester. Returns the release id.
   */
  startRelease(options: {
    target: string;
    tag: string;
    by: string;
    /** A task definition of the release's own (functions/shared/task-definition.ts). */
    taskDefinition?: TaskDefinitionFile;
    /** Past freeze windows and a closed promotion gate, recorded as such. */
    breakGlass?: { reason: string; by: string };
  }): string {
    const target = this.targets.targets.find((t) => t.name === options.target);
    if (!target) throw new Error(`unknown target ${options.target}`);
    const { digest } = this.account.ecr.push(target.image.repository, options.tag, { silent: true });
    const variant = options.taskDefinition && taskDefinitionKey(options.taskDefinition);
    const request = releaseRequest({
      target: target.name,
      image: { repository: target.image.repository, tag: options.tag, digest },
      at: new Date(),
      trigger: { source: TriggerSource.Manual, by: options.by },
      ...(options.breakGlass ? { breakGlass: options.breakGlass } : {}),
      ...(options.taskDefinition && variant
        ? {
            taskDefinition: options.taskDefinition,
            attempt: { releaseId: releaseIdFor(target.name, digest, variant), attempt: 1 },
          }
        : {}),
    });
    this.progress('ops', `release ${target.name} ${options.tag} started by ${options.by}`);
    this.sfn.StartExecution({
      stateMachineArn: this.releaseStateMachineArn,
      name: request.name,
      input: JSON.stringify(request.input),
    });
    return request.name;
  }

  /** An operator fault armed for `state` (faults.operator): acts just after the state is entered. */
  private operatorFault(execution: LocalExecution, state: string) {
    const action = this.faults.operatorAction(state);
    if (!action) return;
    const { target } = JSON.parse(execution.input) as { target: string };
    setTimeout(() => {
      try {
        if (action === 'stop') this.stopExecution(execution.name);
        else this.startRollback({ target, reason: `operator fault at ${state}` });
      } catch (error) {
        // e.g. a second rollback in the same second (its name is taken): the operator's click is lost.
        this.progress('ops', `operator ${action} at ${state} failed: ${(error as Error).message}`);
      }
    }, 0);
  }

  /** Stops an execution, as an operator can with `aws stepfunctions stop-execution`. */
  stopExecution(executionName: string): void {
    const execution = this.executions().find((e) => e.name === executionName);
    if (!execution) throw new Error(`no execution ${executionName}`);
    this.progress('ops', `stop-execution ${executionName}`);
    this.sfn.StopExecution({
      executionArn: execution.executionArn,
      error: 'Stopped',
      cause: 'stopped by an operator',
    });
  }

  /**
   * Starts a rollback as an operator would (the CLI's StartExecution), now in virtual time.
   * Returns the rollback id (= execution name).
   */
  startRollback(options: {
    target: string;
    reason: string;
    by?: string;
    ifRunning?: IfRunning;
    force?: boolean;
  }): string {
    const request = rollbackRequest({ by: 'ops@example.com', ...options, at: new Date() });
    this.progress('ops', `rollback ${options.target} requested: ${options.reason}`);
    this.sfn.StartExecution({
      stateMachineArn: this.rollbackStateMachineArn,
      name: request.name,
      input: JSON.stringify(request.input),
    });
    return request.name;
  }

  /**
   * Requests from outside (a browser, a person's form post) being served right now. While any is,
   * time only crawls: it must not jump to a far-off timeout while a decision is on its way.
   */
  external = 0;

  /** Reconciler runs that failed (each retried as Lambda retries an asynchronous invocation). */
  reconcilerFailures = 0;

  /** One move of the clock: the next timer, or a 50 ms crawl while an outside request is served. */
  private step(): boolean {
    return this.external > 0 ? this.clock.crawl(50) : this.clock.advance();
  }

  /**
   * Serves a request from outside (the approval server): runs the function while moving time
   * only as much as its own calls need, so a far-off timeout cannot fire meanwhile.
   */
  async serve(folder: FunctionFolder, event: unknown): Promise<unknown> {
    this.external++;
    try {
      return await this.until(this.lambda.invoke(folder, event));
    } finally {
      this.external--;
    }
  }

  /** The approval API's base URL (a loopback server in this process). */
  get approvalBaseUrl(): string {
    return process.env.APPROVAL_BASE_URL ?? '';
  }

  /**
   * Waits in real time, with the virtual clock standing still, until `check` holds: a person
   * deciding in a browser. Their requests move time only as much as serving them needs.
   */
  async waitForPeople(check: () => boolean | Promise<boolean>, realMs = 30 * 60_000): Promise<boolean> {
    const end = performance.now() + realMs;
    for (;;) {
      await this.clock.quiesce(this.io);
      if (await this.until(Promise.resolve(check()))) return true;
      if (performance.now() > end) return false;
      await realSleep(200);
    }
  }

  /** Runs virtual time until `check` holds (e.g. a release parked for approval), at most `seconds`. */
  async runUntil(check: () => boolean | Promise<boolean>, seconds = 24 * 3600): Promise<boolean> {
    const limit = Date.now() + seconds * 1000;
    for (;;) {
      await this.clock.quiesce(this.io);
      if (await this.until(Promise.resolve(check()))) return true;
      if (Date.now() > limit || !this.step()) return false;
    }
  }

  /** Runs virtual time until no execution is running (and the world is quiet). */
  async settle(): Promise<void> {
    const limit = Date.now() + MAX_VIRTUAL_MS;
    for (;;) {
      await this.clock.quiesce(this.io);
      if (!this.sfn.anyRunning() && this.bus.inFlight === 0 && this.account.lambda.inFlight === 0) break;
      if (Date.now() > limit) {
        throw new Error(
          `executions still running after ${MAX_VIRTUAL_MS / 3600_000} virtual hours: ${this.sfn
            .running()
            .map((e) => e.name)
            .join(', ')}`,
        );
      }
      if (!this.step()) throw new Error('executions are waiting but nothing is scheduled to resume them');
    }
  }

  /**
   * `target` (a client, a store) with every call run in this runtime's virtual time until it
   * settles: how the CLI and tests call into the simulated account from outside a function.
   */
  timed<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, key, receiver) => {
        const value = Reflect.get(object, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const out = value.apply(object, args);
          return out instanceof Promise ? this.until(out) : out;
        };
      },
    });
  }

  /** Runs virtual time until `promise` settles (for calling a step's `run()` directly in tests). */
  async until<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled) {
      await this.clock.quiesce(this.io);
      if (settled || !this.step()) break;
    }
    return promise;
  }

  /** Lets `seconds` of virtual time pass, with everything scheduled in between happening. */
  async wait(seconds: number): Promise<void> {
    await this.until(new Promise((resolve) => setTimeout(resolve, seconds * 1000)));
  }

  /** Lets the world finish what it started (tasks draining) for `seconds` of virtual time. */
  async drain(seconds = 120): Promise<void> {
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      await this.clock.quiesce(this.io);
      if (!this.step()) break;
    }
    await this.clock.quiesce(this.io);
  }

  /**
   * Runs virtual time until nothing in the account is under way on a timer (tasks stopping, targets
   * draining, snapshots being created), at most `maxSeconds`: what must happen before a world is
   * saved, because timers do not survive the process.
   */
  async drainUntilQuiet(maxSeconds = 2 * 3600): Promise<void> {
    const until = Date.now() + maxSeconds * 1000;
    await this.clock.quiesce(this.io);
    while (this.account.busy() && Date.now() < until) {
      if (!this.step()) break;
      await this.clock.quiesce(this.io);
    }
  }

  executions(): LocalExecution[] {
    return [...this.sfn.executions.values()];
  }

  async release(releaseId: string): Promise<ReleaseRecord | undefined> {
    return this.store.getRelease(releaseId);
  }

  /** Invokes a function directly (as `aws lambda invoke` would), e.g. start-release with a hand-made event. */
  invoke(folder: Parameters<LocalLambda['invoke']>[0], event: unknown) {
    return this.lambda.invoke(folder, event);
  }

  /**
   * Hands what this runtime's functions were authorized for to the IAM tier, when the test run asks
   * for it (`SWITCHYARD_IAM_RECORD_DIR`): one JSON line per runtime, with the targets file's text,
   * since the stack's policies are scoped to the targets.
   */
  private writeIamRecord() {
    const dir = process.env.SWITCHYARD_IAM_RECORD_DIR;
    const entries = this.account.iam.entries();
    if (!dir || entries.length === 0) return;
    appendFileSync(
      join(dir, `${process.pid}.jsonl`),
      `${JSON.stringify({ targets: readFileSync(this.options.targetsFile, 'utf8'), entries })}\n`,
    );
  }

  async dispose(): Promise<void> {
    if (this.reconciler) clearInterval(this.reconciler);
    this.writeIamRecord();
    globalThis.fetch = this.realFetch;
    Math.random = realRandom;
    this.clock.uninstall();
    await this.account.close();
    if (current === this) current = undefined;
  }
}

/** Writes `text` to this process's temporary directory. */
const writeTemp = (name: string, text: string): string => {
  const dir = join(tmpdir(), `switchyard-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** The functions' copy of `targetsFile`, as the stack bundles it (validated once, defaults filled in). */
const writeValidatedTargets = (targetsFile: string): string =>
  writeTemp('functions-targets.json', validatedTargetsDocument(loadTargetsFile(targetsFile)));

/** Writes a targets document to a temporary file (tests, generated examples). */
export const writeTargetsFile = (targets: unknown, name = 'targets.json'): string =>
  writeTemp(name, JSON.stringify(targets, null, 2));
