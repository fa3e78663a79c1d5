/**
 * Simulated ECS one-off tasks (RunTask, DescribeTasks, StopTask): what hooks run. A task is
 * provisioned, pulls and starts (the same start latency as a service's tasks), runs its program, and
 * stops; each change emits an `ECS Task State Change` event, as ECS does. Its container's output goes
 * to CloudWatch Logs (the awslogs driver: stream `<prefix>/<container>/<task id>`).
 *
 * AWS behaviour modelled (ECS API reference, RunTask / DescribeTasks / StopTask; "Amazon ECS task
 * state change events"; "Stopped tasks" in the ECS developer guide):
 * - an awsvpc task definition needs a networkConfiguration, else InvalidParameterException;
 * - a container override must name a container of the task definition;
 * - `clientToken` makes RunTask idempotent: the same token returns the same task;
 * - StopTask sends SIGTERM and, after the container's stop timeout (30 s default on Fargate),
 *   SIGKILL: a container that ignores SIGTERM exits 137;
 * - a task that cannot start (image pull) stops with stopCode TaskFailedToStart and no exit code;
 * - a stopped task stays visible to DescribeTasks for at least an hour, then is gone (MISSING).
 */
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import type { EventBus } from '../bus.ts';
import type { TaskFault } from '../faults.ts';
import type { Random } from '../rng.ts';
import { awsError, notFound } from './errors.ts';
import type { LogsModel } from './logs.ts';

type Status = 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'DEPROVISIONING' | 'STOPPED';

interface OneOffTask {
  arn: string;
  id: string;
  clusterArn: string;
  clusterName: string;
  taskDefinitionArn: string;
  container: string;
  command: string[];
  environment: Record<string, string>;
  startedBy?: string;
  group: string;
  lastStatus: Status;
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: Date;
  startedAt?: Date;
  stoppingAt?: Date;
  stoppedAt?: Date;
  stopCode?: 'EssentialContainerExited' | 'UserInitiated' | 'TaskFailedToStart';
  stoppedReason?: string;
  exitCode?: number;
  containerReason?: string;
  log?: { group: string; stream: string };
  version: number;
  timers: ReturnType<typeof setTimeout>[];
  /** DescribeTasks knows it from then on (ECS is eventually consistent after RunTask). */
  visibleAt: number;
}

/** What a command does when it runs: how long, its exit code, and what it prints. */
export interface TaskRun {
  runSeconds: number;
  exitCode: number;
  lines: string[];
  /** Requests per second it sends to its target while it runs (a load test). */
  load?: { rps: number };
}

/** Where a running task's requests go: the traffic model, by the task's group (`switchyard:<target>`). */
export interface LoadSink {
  start(group: string, taskArn: string, rps: number): void;
  stop(taskArn: string): void;
}

/** A program: the simulated account's idea of what a container command does. */
export type TaskProgram = (run: {
  command: string[];
  environment: Record<string, string>;
  image: string;
}) => TaskRun;

/** How long a stopped task stays visible to DescribeTasks ("at least 1 hour", ECS developer guide). */
const STOPPED_VISIBLE_MS = 3600_000;
/** Fargate's default container stop timeout: SIGTERM, then SIGKILL after 30 s (ContainerDefinition.stopTimeout). */
const STOP_TIMEOUT_MS = 30_000;
/** DEPROVISIONING → STOPPED: the task's network interface is detached (seconds on Fargate). */
const DEPROVISION_MS = 5_000;

export class OneOffTasks {
  private readonly tasks = new Map<string, OneOffTask>();
  private readonly byToken = new Map<string, string>();
  private count = 0;
  /** Set by the account: where a load test's requests are counted. */
  loads: LoadSink | undefined;

  constructor(
    private readonly env: { region: string; account: string; startSeconds: [number, number] },
    private readonly bus: EventBus,
    private readonly random: Random,
    private readonly logs: LogsModel,
    private readonly clusterExists: (name: string) => boolean,
    private readonly definitionOf: (nameOrArn: string) => TaskDefinition | undefined,
    private readonly program: TaskProgram,
    private readonly faultFor: (command: string[]) => TaskFault | undefined,
  ) {}

  /** Whether a task is starting, running or stopping (its timers would be lost if the world were saved now). */
  busy(): boolean {
    return [...this.tasks.values()].some((t) => t.lastStatus !== 'STOPPED');
  }

  /** Every task RunTask started (for tests and the invariants). */
  all(): {
    arn: string;
    taskDefinitionArn: string;
    lastStatus: string;
    command: string[];
    environment: Record<string, string>;
    exitCode?: number;
    group: string;
    createdAt: number;
    stoppedAt?: number;
  }[] {
    return [...this.tasks.values()].map((t) => ({
      arn: t.arn,
      taskDefinitionArn: t.taskDefinitionArn,
      lastStatus: t.lastStatus,
      command: t.command,
      environment: t.environment,
      exitCode: t.exitCode,
      group: t.group,
      createdAt: t.createdAt.getTime(),
      stoppedAt: t.stoppedAt?.getTime(),
    }));
  }

  private clusterOf(cluster: string | undefined) {
    const name = (cluster ?? 'default').split('/').at(-1) as string;
    if (!this.clusterExists(name)) throw notFound('ClusterNotFoundException', 'Cluster not found.');
    return name;
  }

  RunTask(input: {
    cluster?: string;
    taskDefinition: string;
    count?: number;
    clientToken?: string;
    startedBy?: string;
    group?: string;
    launchType?: string;
    capacityProviderStrategy?: unknown[];
    networkConfiguration?: { awsvpcConfiguration?: { subnets?: string[] } };
    overrides?: {
      containerOverrides?: {
        name?: string;
        command?: string[];
        environment?: { name?: string; value?: string }[];
      }[];
    };
  }) {
    const clusterName = this.clusterOf(input.cluster);
    if (input.clientToken !== undefined && input.clientToken.length > 64)
      throw awsError('InvalidParameterException', 'clientToken can be at most 64 characters.');
    if (input.startedBy !== undefined && input.startedBy.length > 128)
      throw awsError('InvalidParameterException', 'startedBy can be at most 128 characters.');
    if ((input.count ?? 1) !== 1)
      throw awsError('InvalidParameterException', 'the simulated account runs one task per RunTask');
    if (input.launchType && input.capacityProviderStrategy?.length)
      throw awsError(
        'InvalidParameterException',
        'Specifying both a launch type and capacity provider strategy is not supported.',
      );
    const known = input.clientToken && this.byToken.get(input.clientToken);
    if (known) {
      const task = this.tasks.get(known) as OneOffTask;
      return { tasks: [this.describe(task)], failures: [] };
    }
    const definition = this.definitionOf(input.taskDefinition);
    if (!definition?.taskDefinitionArn)
      throw awsError('InvalidParameterException', 'TaskDefinition not found.');
    if (
      definition.networkMode === 'awsvpc' &&
      !input.networkConfiguration?.awsvpcConfiguration?.subnets?.length
    )
      throw awsError(
        'InvalidParameterException',
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
      );
    const containers = definition.containerDefinitions ?? [];
    const overrides = input.overrides?.containerOverrides ?? [];
    for (const o of overrides) {
      if (!containers.some((c) => c.name === o.name))
        throw awsError(
          'InvalidParameterException',
          `Override for container named ${o.name} is not a container in the TaskDefinition.`,
        );
    }
    if (JSON.stringify(input.overrides ?? {}).length > 8192)
      throw awsError('InvalidParameterException', 'Container Overrides length must be at most 8192');
    const essential = containers.find((c) => c.essential !== false) ?? containers[0];
    const override = overrides.find((o) => o.name === essential?.name) ?? overrides[0];
    const container = override?.name ?? essential?.name ?? 'main';
    const definitionContainer = containers.find((c) => c.name === container);
    const command = override?.command ?? definitionContainer?.command ?? [];
    const environment = Object.fromEntries([
      ...(definitionContainer?.environment ?? []).map((e) => [e.name ?? '', e.value ?? '']),
      ...(override?.environment ?? []).map((e) => [e.name ?? '', e.value ?? '']),
    ]);

    this.count++;
    const id = `${this.count.toString(16).padStart(8, '0')}${this.random.hex(32).slice(8)}`;
    const options =
      definitionContainer?.logConfiguration?.logDriver === 'awslogs'
        ? definitionContainer.logConfiguration.options
        : undefined;
    const task: OneOffTask = {
      arn: `arn:aws:ecs:${this.env.region}:${this.env.account}:task/${clusterName}/${id}`,
      id,
      clusterArn: `arn:aws:ecs:${this.env.region}:${this.env.account}:cluster/${clusterName}`,
      clusterName,
      taskDefinitionArn: definition.taskDefinitionArn,
      container,
      command,
      environment,
      startedBy: input.startedBy,
      group: input.group ?? `family:${definition.family}`,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: new Date(),
      ...(options?.['awslogs-group'] && options['awslogs-stream-prefix']
        ? {
            log: {
              group: options['awslogs-group'],
              stream: `${options['awslogs-stream-prefix']}/${container}/${id}`,
            },
          }
        : {}),
      version: 1,
      timers: [],
      // RunTask API reference: DescribeTasks may not return a task for a while after RunTask
      // returned it (eventual consistency). A few seconds here.
      visibleAt: Date.now() + this.random.int(500, 3000),
    };
    this.tasks.set(task.arn, task);
    if (input.clientToken) this.byToken.set(input.clientToken, task.arn);
    this.emit(task);

    const fault = this.faultFor(command);
    const [min, max] = this.env.startSeconds;
    const startMs = this.random.int(min * 1000, max * 1000);
    // The awslogs driver needs its group (unless told to create it): else the task cannot start.
    const noGroup =
      task.log && !this.logs.hasGroup(task.log.group) && options?.['awslogs-create-group'] !== 'true'
        ? `ResourceInitializationError: failed to validate logger args: The specified log group does not exist. (${task.log.group})`
        : undefined;
    if (task.log && !noGroup) this.logs.addLogGroup(task.log.group);
    const failToStart = fault?.failToStart ?? noGroup;
    if (failToStart) {
      this.later(task, startMs, () => this.stopped(task, 'TaskFailedToStart', failToStart, undefined));
    } else {
      const run = this.program({ command, environment, image: definitionContainer?.image ?? '' });
      this.later(task, startMs, () => {
        task.lastStatus = 'RUNNING';
        task.startedAt = new Date();
        this.bump(task);
        if (task.log) this.logs.write(task.log.group, task.log.stream, [`$ ${command.join(' ')}`]);
        // A load test sends its requests while it runs, a hung one included (until it is stopped).
        if (run.load) this.loads?.start(task.group, task.arn, run.load.rps);
        if (fault?.hang) return;
        const runMs = (fault?.runSeconds ?? run.runSeconds) * 1000;
        this.later(task, runMs, () => {
          const exitCode = fault?.exitCode ?? run.exitCode;
          // A command made to fail says so in its log, as a failing tool would on its last line.
          const lines =
            exitCode === run.exitCode
              ? run.lines
              : [`${command.join(' ')}: error, exiting with status ${exitCode}`];
          if (task.log) this.logs.write(task.log.group, task.log.stream, lines);
          this.stopped(task, 'EssentialContainerExited', 'Essential container in task exited', exitCode);
        });
      });
    }
    return { tasks: [this.describe(task)], failures: [] };
  }

  /**
   * The one-off tasks started with `startedBy` whose desired status is RUNNING (ListTasks API
   * reference: the default desired status; with startedBy it must be the only filter).
   */
  ListTasksStartedBy(input: { cluster?: string; startedBy: string; nextToken?: string }) {
    const cluster = this.clusterOf(input.cluster);
    const tasks = [...this.tasks.values()].filter(
      (t) => t.clusterName === cluster && t.startedBy === input.startedBy && t.desiredStatus === 'RUNNING',
    );
    // 100 per page (ListTasks' maxResults default), the rest behind nextToken.
    const from = Number(input.nextToken ?? 0);
    return {
      taskArns: tasks.slice(from, from + 100).map((t) => t.arn),
      ...(from + 100 < tasks.length ? { nextToken: String(from + 100) } : {}),
    };
  }

  DescribeTasks(input: { cluster?: string; tasks: string[] }) {
    const clusterName = this.clusterOf(input.cluster);
    if (input.tasks.length > 100)
      throw awsError('InvalidParameterException', 'tasks can have at most 100 items');
    const tasks = [];
    const failures = [];
    for (const ref of input.tasks) {
      const arn = ref.startsWith('arn:')
        ? ref
        : `arn:aws:ecs:${this.env.region}:${this.env.account}:task/${clusterName}/${ref}`;
      const task = this.tasks.get(arn);
      if (task && task.clusterName === clusterName && Date.now() >= task.visibleAt)
        tasks.push(this.describe(task));
      else failures.push({ arn, reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  StopTask(input: { cluster?: string; task: string; reason?: string }) {
    const clusterName = this.clusterOf(input.cluster);
    const arn = input.task.startsWith('arn:')
      ? input.task
      : `arn:aws:ecs:${this.env.region}:${this.env.account}:task/${clusterName}/${input.task}`;
    const task = this.tasks.get(arn);
    if (!task) throw awsError('InvalidParameterException', 'The referenced task was not found.');
    if (task.desiredStatus === 'STOPPED') return { task: this.describe(task) };
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = new Date();
    this.bump(task);
    const reason = input.reason ?? 'Task stopped by user';
    if (task.lastStatus !== 'RUNNING') {
      for (const t of task.timers) clearTimeout(t);
      this.later(task, DEPROVISION_MS, () => this.stopped(task, 'UserInitiated', reason, undefined));
    } else {
      // SIGTERM; a container still running after the stop timeout is killed (137).
      for (const t of task.timers) clearTimeout(t);
      this.later(task, STOP_TIMEOUT_MS, () => this.stopped(task, 'UserInitiated', reason, 137));
    }
    return { task: this.describe(task) };
  }

  // --- behaviour ---------------------------------------------------------------------------

  private later(task: OneOffTask, ms: number, then: () => void) {
    task.timers.push(setTimeout(then, ms));
  }

  private stopped(task: OneOffTask, stopCode: OneOffTask['stopCode'], reason: string, exitCode?: number) {
    if (task.lastStatus === 'STOPPED') return;
    this.loads?.stop(task.arn);
    task.lastStatus = 'DEPROVISIONING';
    task.desiredStatus = 'STOPPED';
    task.stoppingAt ??= new Date();
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    task.exitCode = exitCode;
    if (stopCode === 'TaskFailedToStart') task.containerReason = reason;
    this.later(task, DEPROVISION_MS, () => {
      task.lastStatus = 'STOPPED';
      task.stoppedAt = new Date();
      this.bump(task);
      // Forgotten after the hour ECS keeps stopped tasks (an unref'd timer: it keeps nothing alive).
      const forget = setTimeout(() => this.tasks.delete(task.arn), STOPPED_VISIBLE_MS);
      (forget as { unref?: () => void }).unref?.();
    });
  }

  private bump(task: OneOffTask) {
    task.version++;
    this.emit(task);
  }

  private describe(task: OneOffTask) {
    return {
      taskArn: task.arn,
      clusterArn: task.clusterArn,
      taskDefinitionArn: task.taskDefinitionArn,
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      startedBy: task.startedBy,
      group: task.group,
      launchType: 'FARGATE',
      createdAt: task.createdAt,
      startedAt: task.startedAt,
      stoppingAt: task.stoppingAt,
      stoppedAt: task.stoppedAt,
      stopCode: task.stopCode,
      stoppedReason: task.stoppedReason,
      version: task.version,
      overrides: {
        containerOverrides: [
          {
            name: task.container,
            command: task.command,
            environment: Object.entries(task.environment).map(([name, value]) => ({ name, value })),
          },
        ],
      },
      containers: [
        {
          containerArn: `arn:aws:ecs:${this.env.region}:${this.env.account}:container/${task.clusterName}/${task.id}/${task.container}`,
          taskArn: task.arn,
          name: task.container,
          lastStatus: task.lastStatus === 'DEPROVISIONING' ? 'STOPPED' : task.lastStatus,
          ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
          ...(task.containerReason ? { reason: task.containerReason } : {}),
        },
      ],
    };
  }

  private emit(task: OneOffTask) {
    const detail = this.describe(task);
    this.bus.emit('aws.ecs', 'ECS Task State Change', [task.arn], {
      ...detail,
      createdAt: detail.createdAt.toISOString(),
      startedAt: detail.startedAt?.toISOString(),
      stoppingAt: detail.stoppingAt?.toISOString(),
      stoppedAt: detail.stoppedAt?.toISOString(),
      updatedAt: new Date().toISOString(),
    });
  }
}
