/**
 * The simulated AWS account: deterministic models of ECS, ELBv2, RDS, ECR and SNS, plus the local
 * Step Functions service, answering the real SDK commands of the real function code. Calls take
 * realistic (virtual) time, are counted per service and operation, and can be made to fail.
 */

import { requestTimeoutOf } from '../../functions/shared/clients/http.ts';
import type { EventBus } from '../bus.ts';
import { type Faults, invocation } from '../faults.ts';
import { IamRecorder } from '../iam/recorder.ts';
import type { Random } from '../rng.ts';
import { CloudWatchModel } from './cloudwatch.ts';
import { EcrModel, SnsModel } from './ecr-sns.ts';
import { EcsModel } from './ecs.ts';
import { OneOffTasks } from './ecs-tasks.ts';
import { Elbv2Model } from './elbv2.ts';
import { awsError, timeoutError } from './errors.ts';
import { EventBridgeModel } from './eventbridge.ts';
import { HookFunctions } from './hook-functions.ts';
import { LambdaModel } from './lambda.ts';
import { LogsModel } from './logs.ts';
import type { RateLimiter } from './rate-limits.ts';
import { RdsModel } from './rds.ts';
import { SecretsModel, WebhookReceiver } from './secrets.ts';
import { SesModel } from './ses.ts';
import { taskPrograms } from './task-programs.ts';
import { TrafficModel } from './traffic.ts';

/** The SDK client class name of each simulated service, and its short name in summaries. */
export const serviceOfClient: Record<string, string> = {
  ECSClient: 'ECS',
  ElasticLoadBalancingV2Client: 'ELBv2',
  RDSClient: 'RDS',
  ECRClient: 'ECR',
  SNSClient: 'SNS',
  SESv2Client: 'SESv2',
  LambdaClient: 'Lambda',
  SFNClient: 'SFN',
  CloudWatchClient: 'CloudWatch',
  SecretsManagerClient: 'SecretsManager',
  CloudWatchLogsClient: 'CloudWatchLogs',
  EventBridgeClient: 'EventBridge',
};

/** Virtual milliseconds an API call takes (min, max), by service. */
const latencyMs: Record<string, [number, number]> = {
  ECS: [40, 120],
  ELBv2: [30, 90],
  RDS: [60, 200],
  ECR: [30, 80],
  SNS: [20, 60],
  SESv2: [30, 90],
  Lambda: [10, 30],
  SFN: [20, 60],
  CloudWatch: [20, 70],
  SecretsManager: [20, 60],
  CloudWatchLogs: [20, 60],
  EventBridge: [20, 60],
};

/** One API call: when (virtual ms), which, how long it took, and the function that made it. */
export interface CallRecord {
  at: number;
  call: string;
  ms: number;
  /** The function folder (e.g. `wait-resume`); undefined for calls from outside a function. */
  by?: string;
  throttled?: boolean;
  /** ECS calls naming one service (`UpdateService`): which (the bench times each deployment from its own). */
  ecsService?: string;
  /** Lambda calls naming a function (Invoke): which (the warm-ups' tests count them by function). */
  functionName?: string;
}

export interface StepFunctionsApi {
  [operation: string]: (input: never) => unknown;
}

export class SimulatedAccount {
  readonly region = 'us-east-1';
  readonly accountId = '123456789012';
  readonly ecr: EcrModel;
  readonly elbv2: Elbv2Model;
  readonly ecs: EcsModel;
  readonly rds: RdsModel;
  readonly sns = new SnsModel();
  readonly ses: SesModel;
  /** Asynchronous invocations of Switchyard's own functions (their `switchyard-<folder>` names). */
  readonly lambda = new LambdaModel((name) =>
    /^(arn:aws:lambda:[^:]+:\d{12}:function:)?switchyard-[a-z-]+$/.test(name),
  );
  readonly cloudwatch: CloudWatchModel;
  /** Real users' requests on the served listeners: the ALB's per-target-group metrics. */
  readonly traffic: TrafficModel;
  /** The users' own functions that Lambda hooks name. */
  readonly hookFunctions: HookFunctions;
  readonly secrets: SecretsModel;
  readonly logs: LogsModel;
  readonly eventbridge: EventBridgeModel;
  /** Not AWS: Slack and Teams, as far as Switchyard's webhooks reach them. */
  readonly webhooks = new WebhookReceiver();
  sfn: StepFunctionsApi | undefined;
  /** `Service.Operation` → number of calls (including failed ones). */
  readonly calls = new Map<string, number>();
  /** Every call in order, with its virtual time and caller (for counting the calls on a path). */
  readonly callLog: CallRecord[] = [];
  /** API rate limits, when enforced (`RuntimeOptions.rateLimits`). */
  rateLimiter: RateLimiter | undefined;
  /** What AWS would authorize for each call a function makes (checked by the IAM tier). */
  readonly iam: IamRecorder;

  constructor(
    readonly bus: EventBus,
    readonly faults: Faults,
    private readonly random: Random,
    trafficRandom?: Random,
  ) {
    const envelope = { region: this.region, account: this.accountId };
    this.ecr = new EcrModel(bus, envelope);
    this.elbv2 = new Elbv2Model();
    this.ecs = new EcsModel(
      { ...envelope, startSeconds: [25, 45] },
      this.elbv2,
      bus,
      random,
      (image) => this.imageIsHealthy(image),
      (image) => this.imageErrorRate(image),
      (image, container) => this.imageCrashSeconds(image, container),
      (image) => this.imageP95Ms(image),
    );
    this.logs = new LogsModel(() => random.int(1000, 5000));
    this.eventbridge = new EventBridgeModel(bus, envelope);
    this.ecs.oneOff = new OneOffTasks(
      { ...envelope, startSeconds: [25, 45] },
      bus,
      random,
      this.logs,
      (name) => this.ecs.clusters.has(name),
      (name) => this.ecs.definitionOf(name),
      taskPrograms(
        { p95Ms: (image) => this.imageP95Ms(image), errorRate: (image) => this.imageErrorRate(image) },
        random,
      ),
      (command) => this.faults.taskFault(command),
    );
    this.secrets = new SecretsModel(envelope);
    this.iam = new IamRecorder(envelope, {
      secretArn: (name) => this.secrets.arnOf(name),
      taskDefinitionRoles: (name) => {
        const definition = this.ecs.definitionOf(name);
        return [definition?.taskRoleArn, definition?.executionRoleArn].filter((r): r is string => !!r);
      },
    });
    this.hookFunctions = new HookFunctions(envelope, random, faults, {
      p95Ms: (image) => this.imageP95Ms(image),
      errorRate: (image) => this.imageErrorRate(image),
      imageOf: (arn) => this.ecs.definitionOf(arn)?.containerDefinitions?.[0]?.image,
    });
    this.traffic = new TrafficModel(this.elbv2, trafficRandom ?? random, faults);
    // Test traffic: load-test hooks and probes through a test listener count in its target group's metrics.
    this.ecs.oneOff.loads = {
      start: (group, taskArn, rps) => this.traffic.startLoad(group, taskArn, rps),
      stop: (taskArn) => this.traffic.stopLoad(taskArn),
    };
    this.hookFunctions.loads = this.ecs.oneOff.loads;
    this.elbv2.onServed = (group, listener, error) => this.traffic.probe(group, listener, error);
    this.cloudwatch = new CloudWatchModel(
      bus,
      envelope,
      (where) => this.elbv2.errorPercent(where),
      this.traffic,
    );
    this.rds = new RdsModel(bus, envelope);
    this.ses = new SesModel(this.region);
  }

  private tagsOfImage(image: string): string[] {
    const digest = image.match(/@(sha256:[0-9a-f]{64})$/)?.[1];
    return digest ? this.ecr.tagsOf(digest) : [image.split(':').at(-1) ?? ''];
  }

  /** Containers answer their health checks unless their image's tag is marked unhealthy. */
  private imageIsHealthy(image: string): boolean {
    return !this.tagsOfImage(image).some((t) => this.faults.unhealthyTags.has(t));
  }

  /**
   * Seconds after start when a service task's container exits 1 (faults.crashAfterSeconds, keyed by
   * tag, `<repository>:<tag>` or `<container>:<tag>`: one image can run as a web and a worker), if it does.
   */
  private imageCrashSeconds(image: string, container: string): number | undefined {
    const tags = this.tagsOfImage(image);
    const found = [...tags, ...tags.map((t) => `${container}:${t}`)].map((t) =>
      this.faults.crashAfterSeconds.get(t),
    );
    return found.find((s) => s !== undefined);
  }

  /** Share of requests an image answers with 5xx (faults.errorRates by tag). */
  private imageErrorRate(image: string): number {
    return Math.max(0, ...this.tagsOfImage(image).map((t) => this.faults.errorRates.get(t) ?? 0));
  }

  /**
   * 95th percentile of the image's response times in ms: `faults.latencyMs` by tag, else 180 ms
   * (a service that answers in tens of milliseconds with a tail, as an unloaded web app does).
   */
  private imageP95Ms(image: string): number {
    return Math.max(180, ...this.tagsOfImage(image).map((t) => this.faults.latencyMs.get(t) ?? 0));
  }

  /**
   * From now on, containers of images tagged `tag` answer `rate` of requests with 5xx, those already
   * running included: a bug that only shows under later traffic (faults.errorRates for new tasks).
   */
  startErrors(tag: string, rate: number) {
    this.faults.errorRates.set(tag, rate);
    this.ecs.refreshErrorRates();
  }

  /** Calls that arrived at this virtual instant, waiting to be put in a stable order (`arrive`). */
  private arrivals: { order: () => string; go: () => void }[] = [];

  /**
   * Resolves at the same virtual instant, once every call made at it has arrived, in an order of
   * what the calls are (`order`), not of when they arrived. Calls a step makes side by side reach
   * the account after as many microtask turns as their SDK middleware takes, and that differs the
   * first time a client is used in a process (its memoised providers resolve then): without this,
   * the first release in a process drew its seeded latencies in another order than the same
   * release run again.
   */
  private arrive(order: () => string): Promise<void> {
    return new Promise((go) => {
      if (this.arrivals.length === 0) setTimeout(() => this.admitArrivals(), 0);
      this.arrivals.push({ order, go });
    });
  }

  private admitArrivals() {
    const batch = this.arrivals.splice(0);
    // One call alone needs no key (a JSON of its input). Sort is stable: the same calls (caller,
    // call and input) keep their arrival order.
    if (batch.length > 1) {
      const key = new Map(batch.map((a) => [a, a.order()]));
      batch.sort((a, b) =>
        (key.get(a) as string) < (key.get(b) as string) ? -1 : key.get(a) === key.get(b) ? 0 : 1,
      );
    }
    for (const a of batch) a.go();
  }

  /** Answers one SDK command. */
  async handle(clientName: string, commandName: string, input: unknown): Promise<Record<string, unknown>> {
    const service = serviceOfClient[clientName];
    const operation = commandName.replace(/Command$/, '');
    if (!service) throw new Error(`the simulated account does not serve ${clientName}`);
    const key = `${service}.${operation}`;
    const by = invocation.getStore()?.folder;
    await this.arrive(() => `${by ?? ''}\u0000${key}\u0000${JSON.stringify(input) ?? ''}`);
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    const [min, max] = latencyMs[service] ?? [20, 60];
    const latency = this.random.int(min, max);
    const record: CallRecord = { at: Date.now(), call: key, ms: latency, by };
    const named = (input as { service?: unknown } | undefined)?.service;
    if (service === 'ECS' && typeof named === 'string') record.ecsService = named.split('/').at(-1);
    const invoked = (input as { FunctionName?: unknown } | undefined)?.FunctionName;
    if (service === 'Lambda' && typeof invoked === 'string') record.functionName = invoked.split(':').at(-1);
    this.callLog.push(record);
    this.iam.record(record.by, service, operation, input);
    if (this.rateLimiter && !this.rateLimiter.take(service, operation, Date.now())) {
      record.throttled = true;
      await new Promise((resolve) => setTimeout(resolve, latency));
      throw awsError('ThrottlingException', 'Rate exceeded', 400);
    }

    await new Promise((resolve) => setTimeout(resolve, latency));

    const fault = this.faults.apiFault(service, operation, input);
    if (fault && fault.mode === 'error') {
      if (fault.delaySeconds) await new Promise((resolve) => setTimeout(resolve, fault.delaySeconds * 1000));
      throw awsError(fault.error, `injected fault on ${key}`, fault.status);
    }

    const model = (
      {
        ECS: this.ecs,
        ELBv2: this.elbv2,
        RDS: this.rds,
        ECR: this.ecr,
        SNS: this.sns,
        SESv2: this.ses,
        Lambda: this.lambda,
        SFN: this.sfn,
        CloudWatch: this.cloudwatch,
        SecretsManager: this.secrets,
        CloudWatchLogs: this.logs,
        EventBridge: this.eventbridge,
      } as Record<string, unknown>
    )[service] as Record<string, unknown> | undefined;
    const method = model?.[operation];
    if (typeof method !== 'function') {
      throw awsError('UnknownOperationException', `${key} is not simulated by the local account`);
    }
    // The second argument says it came through the API (a model may answer it as AWS would, stale).
    const output = await (method as (input: unknown, caller: { api: boolean }) => unknown).call(
      model,
      structuredClone(input),
      { api: true },
    );
    if (fault?.mode === 'timeout') {
      // It happened, but the answer is lost: the caller cannot tell, and must find out by reading.
      // The client gives up when its own request timeout fires (functions/shared/clients/http.ts).
      const waitMs = requestTimeoutOf(clientName);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      throw timeoutError(key, waitMs / 1000);
    }
    return structuredClone(output ?? {}) as Record<string, unknown>;
  }

  /** Closes the loopback servers (test listeners, webhook receiver). */
  async close() {
    await Promise.all([this.elbv2.close(), this.webhooks.close()]);
  }

  /**
   * Whether something in the account is still under way on a timer: tasks starting or stopping,
   * targets in health checks or draining (300 s by default), snapshots being created. A world saved
   * now would lose those timers.
   */
  busy(): boolean {
    return this.ecs.busy() || this.elbv2.busy() || this.rds.busy();
  }

  /** Calls per service, e.g. `{ ECS: 12, ELBv2: 9 }`. */
  callsByService(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, n] of this.calls) {
      const service = key.split('.')[0] as string;
      out[service] = (out[service] ?? 0) + n;
    }
    return out;
  }
}
