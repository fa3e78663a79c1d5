/**
 * Simulated ECS: clusters, services with deployments and tasks, task definitions. A deployment
 * launches tasks that take time to start and to pass the target group's health checks; once the
 * new tasks are healthy the old deployment's tasks drain and stop, rolloutState turns COMPLETED and
 * an `ECS Deployment State Change` event is emitted. Tasks of an image that fails its health checks
 * are replaced until the circuit breaker marks the rollout FAILED.
 */
import type { ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import type { EventBus } from '../bus.ts';
import { type Random, seededRandom } from '../rng.ts';
import type { OneOffTasks } from './ecs-tasks.ts';
import type { Elbv2Model } from './elbv2.ts';
import { awsError, notFound } from './errors.ts';

type TaskState = 'PROVISIONING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

interface SimTask {
  id: string;
  deploymentId: string;
  taskDefinitionArn: string;
  state: TaskState;
  ip: string;
  /** When ECS created it; when it started RUNNING and when it STOPPED (DescribeTasks). */
  createdAt: Date;
  startedAt?: Date;
  /** When ECS began stopping it (DescribeTasks `stoppingAt`): the stop's cause is known from then. */
  stoppingAt?: Date;
  stoppedAt?: Date;
  stopCode?: string;
  stoppedReason?: string;
  exitCode?: number;
}

interface SimDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  failedTasks: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason: string;
  createdAt: Date;
  updatedAt: Date;
}

type DescribedService = ReturnType<EcsModel['describe']>;

interface SimService {
  arn: string;
  name: string;
  cluster: string;
  clusterArn: string;
  /** None for a service without a load balancer (a worker): its tasks count as healthy once RUNNING. */
  targetGroupArn: string | undefined;
  containerName: string;
  containerPort: number;
  deployments: SimDeployment[];
  tasks: SimTask[];
  /**
   * Its tasks that STOPPED: ECS lists and describes a stopped task for at least an hour after it
   * stopped (ListTasks / DescribeTasks API reference), then forgets it.
   */
  stopped?: SimTask[];
  /**
   * The service's deployment circuit breaker. Off unless set (ECS API reference,
   * DeploymentCircuitBreaker: a service created without it has none): then a deployment whose
   * tasks keep failing stays IN_PROGRESS, replacing them, and never reports FAILED.
   */
  circuitBreaker?: { enable: boolean; rollback: boolean };
  /** Where its tasks run (awsvpc): one-off tasks started "where the service runs" copy it. */
  networkConfiguration?: {
    awsvpcConfiguration: { subnets: string[]; securityGroups: string[]; assignPublicIp: string };
  };
  /** What DescribeServices through the API shows until `until` (epoch ms): EcsModel.staleReads. */
  staleView?: { until: number; view: DescribedService };
}

export interface EcsOptions {
  region: string;
  account: string;
  /** Seconds for a task to go from PROVISIONING to RUNNING (min, max). */
  startSeconds: [number, number];
}

export class EcsModel {
  readonly clusters = new Set<string>();
  readonly services = new Map<string, SimService>();
  readonly taskDefinitions = new Map<string, TaskDefinition>();
  /** Tags given at registration, by task definition ARN (DescribeTaskDefinition include TAGS returns them). */
  readonly taskDefinitionTags = new Map<string, { key?: string; value?: string }[]>();
  private readonly revisions = new Map<string, number>();
  private taskCount = 0;
  /**
   * Deployments made in this account, ever: ECS deployment ids are unique for the life of the
   * account, so they come from this persisted count, never from the run's seeded random numbers
   * (each `switchyard --local` process starts those again).
   */
  private deploymentCount = 0;
  private notify: (message: string) => void = () => {};
  /**
   * Seconds a task without a load balancer takes to exit once told to stop, instead of 5-30 s: a
   * process that ignores SIGTERM until ECS kills it at its stopTimeout (at most 120 s on Fargate,
   * ECS container definition reference), plus deprovisioning. Unset: the default draw.
   */
  slowStopSeconds: number | undefined;
  /** Called after any service task changes state (the tests' I9 watch reads the model then). */
  private readonly taskListeners: (() => void)[] = [];
  /** RunTask's tasks (hooks), set by the account (ecs-tasks.ts). */
  oneOff: OneOffTasks | undefined;

  /**
   * Reads right after a write: "The Amazon ECS API follows an eventual consistency model ... the
   * result of an API command you run that affects your Amazon ECS resources might not be immediately
   * visible to all subsequent commands you run" (ECS API reference, RunTask). AWS gives no bound.
   * DescribeServices through the API shows a service as it was before its latest UpdateService for
   * a time drawn from this range: 0.5-3 s, as a task after RunTask (ecs-tasks.ts). UpdateService's
   * own answer, and a test's direct read of the model, are current. `undefined` turns it off.
   * Not modelled, so kinder: ListTasks, DescribeTasks of a service's tasks, and the other services.
   */
  staleReads: { minMs: number; maxMs: number } | undefined = { minMs: 500, maxMs: 3000 };
  /** Its own draws: turning stale reads on or off leaves every other draw of a seeded run as it was. */
  private readonly staleRandom = seededRandom(0x5eed);

  constructor(
    private readonly options: EcsOptions,
    private readonly elbv2: Elbv2Model,
    private readonly bus: EventBus,
    private readonly random: Random,
    /** Whether a container image answers its health checks (bad images do not). */
    private readonly imageIsHealthy: (image: string) => boolean,
    /** Share of real requests an image answers with 5xx while passing its health checks. */
    private readonly imageErrorRate: (image: string) => number = () => 0,
    /** Seconds after start when a service task of the image exits 1 on its own, if it does. */
    private readonly imageCrashSeconds: (image: string, container: string) => number | undefined = () =>
      undefined,
    /** 95th percentile of an image's response times, ms (the traffic model's latency). */
    private readonly imageP95Ms: (image: string) => number = () => 180,
  ) {
    elbv2.onTargetHealth((groupArn, id, state) => this.onTargetHealth(groupArn, id, state));
  }

  onChange(listener: (message: string) => void) {
    this.notify = listener;
  }

  /** Calls `listener` after every state change of a service's task. */
  onTaskChange(listener: () => void) {
    this.taskListeners.push(listener);
  }

  private taskChanged() {
    for (const listener of this.taskListeners) listener();
  }

  /**
   * A service's tasks whose containers may be running: RUNNING, or STOPPING (SIGTERM sent, the
   * process may still be working until it exits or the stop timeout kills it).
   */
  aliveTasks(cluster: string, service: string): number {
    const s = this.services.get(this.key(cluster, service));
    return s ? s.tasks.filter((t) => t.state === 'RUNNING' || t.state === 'STOPPING').length : 0;
  }

  private key(cluster: string, service: string) {
    return `${this.clusterName(cluster)}/${service.split('/').at(-1)}`;
  }

  private clusterName(cluster: string) {
    return cluster.split('/').at(-1) ?? cluster;
  }

  // --- world setup ------------------------------------------------------------------------

  addCluster(name: string) {
    this.clusters.add(name);
  }

  registerTaskDefinition(
    input: Omit<TaskDefinition, 'taskDefinitionArn' | 'revision'> & { family: string },
  ): TaskDefinition {
    const revision = (this.revisions.get(input.family) ?? 0) + 1;
    this.revisions.set(input.family, revision);
    const arn = `arn:aws:ecs:${this.options.region}:${this.options.account}:task-definition/${input.family}:${revision}`;
    const td: TaskDefinition = {
      ...structuredClone(input),
      taskDefinitionArn: arn,
      revision,
      status: 'ACTIVE',
      compatibilities: ['EC2', 'FARGATE'],
      registeredAt: new Date(),
    };
    this.taskDefinitions.set(arn, td);
    return td;
  }

  /** A service already running `desiredCount` healthy tasks of `taskDefinition` (the world before a release). */
  addService(input: {
    cluster: string;
    name: string;
    taskDefinition: string;
    desiredCount: number;
    /** Unset: a service without a load balancer (a worker or a singleton). */
    targetGroupArn?: string;
    containerName: string;
    containerPort: number;
    networkConfiguration?: SimService['networkConfiguration'];
  }) {
    const service: SimService = {
      networkConfiguration: input.networkConfiguration,
      arn: `arn:aws:ecs:${this.options.region}:${this.options.account}:service/${input.cluster}/${input.name}`,
      name: input.name,
      cluster: input.cluster,
      clusterArn: `arn:aws:ecs:${this.options.region}:${this.options.account}:cluster/${input.cluster}`,
      targetGroupArn: input.targetGroupArn,
      containerName: input.containerName,
      containerPort: input.containerPort,
      deployments: [],
      tasks: [],
    };
    const deployment = this.newDeployment(input.taskDefinition, input.desiredCount);
    deployment.rolloutState = 'COMPLETED';
    deployment.rolloutStateReason = 'ECS deployment completed.';
    service.deployments.push(deployment);
    for (let i = 0; i < input.desiredCount; i++) {
      const task = this.newTask(deployment);
      task.state = 'RUNNING';
      task.startedAt = new Date();
      service.tasks.push(task);
      if (service.targetGroupArn)
        this.elbv2.register(
          service.targetGroupArn,
          task.ip,
          input.containerPort,
          this.serves(task),
          this.errorRate(task),
          true,
        );
      if (service.targetGroupArn) this.elbv2.setLatency(service.targetGroupArn, task.ip, this.p95Ms(task));
    }
    this.services.set(this.key(input.cluster, input.name), service);
  }

  // --- behaviour --------------------------------------------------------------------------

  private newDeployment(taskDefinition: string, desiredCount: number): SimDeployment {
    const now = new Date();
    return {
      id: `ecs-svc/${1_000_000_000_000_000 + ++this.deploymentCount * 7_919_000 + this.random.int(0, 7_918_999)}`,
      status: 'PRIMARY',
      taskDefinition,
      desiredCount,
      failedTasks: 0,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment in progress.',
      createdAt: now,
      updatedAt: now,
    };
  }

  private newTask(deployment: SimDeployment): SimTask {
    this.taskCount++;
    return {
      // Unique for the account's life, as task ids are: the persisted count, then random digits.
      id: `${this.taskCount.toString(16).padStart(8, '0')}${this.random.hex(32).slice(8)}`,
      deploymentId: deployment.id,
      taskDefinitionArn: deployment.taskDefinition,
      state: 'PROVISIONING',
      createdAt: new Date(),
      ip: `10.0.${Math.floor(this.taskCount / 250)}.${(this.taskCount % 250) + 2}`,
    };
  }

  /**
   * When a task's container exits 1 on its own: an image marked to crash, or (no load balancer
   * judges it) a broken image within seconds of starting.
   */
  private crashMs(service: SimService, task: SimTask): number | undefined {
    const td = this.taskDefinitions.get(task.taskDefinitionArn);
    const crash = (td?.containerDefinitions ?? [])
      .map((c) => this.imageCrashSeconds(c.image ?? '', c.name ?? ''))
      .find((s) => s !== undefined);
    if (crash !== undefined) return crash * 1000;
    if (!service.targetGroupArn && !this.serves(task)) return this.random.int(5_000, 15_000);
    return undefined;
  }

  private serves(task: SimTask): boolean {
    const td = this.taskDefinitions.get(task.taskDefinitionArn);
    return (td?.containerDefinitions ?? []).every((c) => this.imageIsHealthy(c.image ?? ''));
  }

  private p95Ms(task: SimTask): number {
    const td = this.taskDefinitions.get(task.taskDefinitionArn);
    return Math.max(0, ...(td?.containerDefinitions ?? []).map((c) => this.imageP95Ms(c.image ?? '')));
  }

  private errorRate(task: SimTask): number {
    const td = this.taskDefinitions.get(task.taskDefinitionArn);
    return Math.max(0, ...(td?.containerDefinitions ?? []).map((c) => this.imageErrorRate(c.image ?? '')));
  }

  private launch(service: SimService, deployment: SimDeployment) {
    const task = this.newTask(deployment);
    service.tasks.push(task);
    const [min, max] = this.options.startSeconds;
    setTimeout(
      () => {
        if (task.state !== 'PROVISIONING') return;
        task.state = 'RUNNING';
        task.startedAt = new Date();
        if (service.targetGroupArn)
          this.elbv2.register(
            service.targetGroupArn,
            task.ip,
            service.containerPort,
            this.serves(task),
            this.errorRate(task),
          );
        if (service.targetGroupArn) this.elbv2.setLatency(service.targetGroupArn, task.ip, this.p95Ms(task));
        // ECS emits a Task State Change for each transition a service's task makes (events reference).
        this.bus.emit(
          'aws.ecs',
          'ECS Task State Change',
          [this.taskArn(service, task)],
          this.describeTask(service, task),
        );
        const crashMs = this.crashMs(service, task);
        if (crashMs !== undefined) {
          // A broken image's essential container exits by itself: ECS counts the task as failed
          // (the circuit breaker's count) and replaces it.
          setTimeout(() => {
            if (task.state !== 'RUNNING') return;
            // ECS stops counting a deployment's failed tasks once it has tasks running (API
            // reference, Deployment.failedTasks): a crash after the rollout is not in the count.
            const deployment = service.deployments.find((d) => d.id === task.deploymentId);
            if (deployment?.rolloutState === 'IN_PROGRESS') deployment.failedTasks++;
            task.exitCode = 1;
            this.stop(service, task, 'EssentialContainerExited', 'Essential container in task exited');
          }, crashMs);
        }
        this.taskChanged();
        this.reconcile(service);
      },
      this.random.int(min * 1000, max * 1000),
    );
  }

  private stop(
    service: SimService,
    task: SimTask,
    stopCode = 'ServiceSchedulerInitiated',
    reason = 'Scaling activity initiated by (deployment)',
  ) {
    if (task.state === 'STOPPING' || task.state === 'STOPPED') return;
    const wasRunning = task.state === 'RUNNING';
    task.state = 'STOPPING';
    task.stoppingAt = new Date();
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    this.taskChanged();
    const drain =
      wasRunning && service.targetGroupArn ? this.elbv2.deregister(service.targetGroupArn, task.ip) : 0;
    // Behind a load balancer: the deregistration delay, then SIGTERM and 5 s to exit. Without one:
    // SIGTERM at once, and the process takes up to the container's stop timeout (default 30 s, ECS
    // container definition `stopTimeout`) to finish its work and exit. A container that exited by
    // itself has no process left to signal: only the task's deprovisioning remains (Fargate detaches
    // its network interface; the same 5 s the one-off task model uses, `DEPROVISION_MS`).
    const exitedByItself = stopCode === 'EssentialContainerExited';
    const exit =
      service.targetGroupArn || !wasRunning || exitedByItself
        ? 5000
        : this.slowStopSeconds !== undefined
          ? this.slowStopSeconds * 1000
          : this.random.int(5_000, 30_000);
    setTimeout(() => {
      task.state = 'STOPPED';
      task.stoppedAt = new Date();
      task.exitCode ??= wasRunning ? 0 : undefined;
      service.tasks = service.tasks.filter((t) => t !== task);
      const hourAgo = Date.now() - 3600_000;
      service.stopped = [
        ...(service.stopped ?? []).filter((t) => (t.stoppedAt?.getTime() ?? 0) > hourAgo),
        task,
      ];
      this.bus.emit('aws.ecs', 'ECS Task State Change', [this.taskArn(service, task)], {
        ...this.describeTask(service, task),
        // Set for tasks a service started (ECS events reference: `group` is `service:<name>`).
        group: `service:${service.name}`,
      });
      this.taskChanged();
      this.reconcile(service);
    }, drain + exit);
  }

  private taskArn(service: SimService, task: SimTask) {
    return `arn:aws:ecs:${this.options.region}:${this.options.account}:task/${service.cluster}/${task.id}`;
  }

  private describeTask(service: SimService, task: SimTask) {
    return {
      taskArn: this.taskArn(service, task),
      clusterArn: service.clusterArn,
      taskDefinitionArn: task.taskDefinitionArn,
      group: `service:${service.name}`,
      startedBy: service.deployments.find((d) => d.id === task.deploymentId)?.id ?? 'ecs-svc',
      createdAt: task.createdAt,
      lastStatus:
        task.state === 'PROVISIONING'
          ? 'PROVISIONING'
          : task.state === 'STOPPING'
            ? 'DEACTIVATING'
            : task.state,
      desiredStatus: task.state === 'STOPPING' || task.state === 'STOPPED' ? 'STOPPED' : 'RUNNING',
      ...(task.startedAt ? { startedAt: task.startedAt } : {}),
      ...(task.stoppingAt ? { stoppingAt: task.stoppingAt } : {}),
      ...(task.stoppedAt ? { stoppedAt: task.stoppedAt } : {}),
      ...(task.stopCode ? { stopCode: task.stopCode, stoppedReason: task.stoppedReason } : {}),
      containers: [
        {
          name: service.containerName,
          lastStatus:
            task.state === 'STOPPED' ? 'STOPPED' : task.state === 'PROVISIONING' ? 'PENDING' : 'RUNNING',
          ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
        },
      ],
    };
  }

  /** Re-reads each running task's error rate (a fault that starts now reaches tasks already serving). */
  /**
   * The world is built before the virtual clock starts, on real time: its services, deployments and
   * tasks existed before the run begins. Stamped `beforeMs` instead, so that nothing built with the
   * world reads as created after the run's first release started.
   */
  backdate(beforeMs: number) {
    const at = (d: Date | undefined) => (d && d.getTime() > beforeMs ? new Date(beforeMs) : d);
    for (const service of this.services.values()) {
      for (const d of service.deployments) {
        d.createdAt = at(d.createdAt) as Date;
        d.updatedAt = at(d.updatedAt) as Date;
      }
      for (const t of [...service.tasks, ...(service.stopped ?? [])]) {
        t.createdAt = at(t.createdAt) as Date;
        t.startedAt = at(t.startedAt);
        t.stoppedAt = at(t.stoppedAt);
      }
    }
  }

  refreshErrorRates() {
    for (const service of this.services.values()) {
      if (!service.targetGroupArn) continue;
      for (const task of service.tasks.filter((t) => t.state === 'RUNNING')) {
        this.elbv2.setErrorRate(service.targetGroupArn, task.ip, this.errorRate(task));
        this.elbv2.setLatency(service.targetGroupArn, task.ip, this.p95Ms(task));
      }
    }
  }

  /** Whether a task is still starting or stopping (its timer would be lost if the world were saved now). */
  busy(): boolean {
    return (
      [...this.services.values()].some((s) =>
        s.tasks.some((t) => t.state === 'PROVISIONING' || t.state === 'STOPPING'),
      ) ||
      (this.oneOff?.busy() ?? false)
    );
  }

  /** A task definition by ARN, `family:revision`, or family (its latest ACTIVE revision), as RunTask takes it. */
  definitionOf(nameOrArn: string): TaskDefinition | undefined {
    const exact = this.taskDefinitions.get(nameOrArn);
    if (exact) return exact;
    const all = [...this.taskDefinitions.values()].filter((t) => t.status === 'ACTIVE');
    if (nameOrArn.includes(':')) return all.find((t) => `${t.family}:${t.revision}` === nameOrArn);
    return all.filter((t) => t.family === nameOrArn).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0];
  }

  RunTask(input: Parameters<OneOffTasks['RunTask']>[0]) {
    return this.tasksApi().RunTask(input);
  }

  /** One-off tasks (ecs-tasks.ts) and services' tasks, at most 100 per call. */
  DescribeTasks(input: Parameters<OneOffTasks['DescribeTasks']>[0]) {
    if (input.tasks.length > 100)
      throw awsError('InvalidParameterException', 'tasks can have at most 100 items');
    const own = new Map<string, ReturnType<EcsModel['describeTask']>>();
    const clusterName = this.clusterName(input.cluster ?? 'default');
    for (const service of this.services.values()) {
      if (service.cluster !== clusterName) continue;
      for (const task of [...service.tasks, ...(service.stopped ?? [])]) {
        const arn = this.taskArn(service, task);
        if (input.tasks.includes(arn) || input.tasks.includes(task.id))
          own.set(arn, this.describeTask(service, task));
      }
    }
    if (own.size === 0) return this.tasksApi().DescribeTasks(input);
    const rest = input.tasks.filter(
      (ref) => ![...own.keys()].some((arn) => arn === ref || arn.endsWith(`/${ref}`)),
    );
    const oneOff = rest.length
      ? this.tasksApi().DescribeTasks({ ...input, tasks: rest })
      : { tasks: [], failures: [] };
    return { tasks: [...own.values(), ...oneOff.tasks], failures: oneOff.failures };
  }

  /**
   * A service's tasks by desired status (ListTasks API reference): RUNNING lists those starting or
   * running; STOPPED those stopping or stopped within the last hour. `maxResults` per page (1-100,
   * default 100), the rest behind `nextToken`.
   */
  ListTasks(input: {
    cluster?: string;
    serviceName?: string;
    startedBy?: string;
    family?: string;
    nextToken?: string;
    maxResults?: number;
    desiredStatus?: 'RUNNING' | 'STOPPED' | 'PENDING';
  }) {
    if (input.startedBy !== undefined) {
      // ListTasks API reference: "When you specify startedBy as the filter, it must be the only filter that you use."
      if (input.serviceName || input.family || input.desiredStatus)
        throw awsError(
          'InvalidParameterException',
          'startedBy must be the only filter when it is specified (not with serviceName, family or desiredStatus)',
        );
      return this.tasksApi().ListTasksStartedBy({
        cluster: input.cluster,
        startedBy: input.startedBy,
        nextToken: input.nextToken,
      });
    }
    if (!input.serviceName)
      throw awsError('InvalidParameterException', 'the simulated ECS lists tasks by serviceName only');
    const service = this.service(input.cluster, input.serviceName);
    const hourAgo = Date.now() - 3600_000;
    const tasks =
      (input.desiredStatus ?? 'RUNNING') === 'STOPPED'
        ? [
            ...service.tasks.filter((t) => t.state === 'STOPPING'),
            ...(service.stopped ?? []).filter((t) => (t.stoppedAt?.getTime() ?? 0) > hourAgo),
          ]
        : service.tasks.filter((t) => t.state === 'PROVISIONING' || t.state === 'RUNNING');
    const pageSize = input.maxResults ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
      throw awsError('InvalidParameterException', 'maxResults must be between 1 and 100');
    const from = input.nextToken === undefined ? 0 : Number(input.nextToken);
    if (!Number.isInteger(from) || from < 0)
      throw awsError('InvalidParameterException', `invalid nextToken: ${input.nextToken}`);
    const page = tasks.slice(from, from + pageSize);
    return {
      taskArns: page.map((t) => this.taskArn(service, t)),
      ...(from + pageSize < tasks.length ? { nextToken: String(from + pageSize) } : {}),
    };
  }

  StopTask(input: Parameters<OneOffTasks['StopTask']>[0]) {
    return this.tasksApi().StopTask(input);
  }

  private tasksApi(): OneOffTasks {
    if (!this.oneOff) throw new Error('the simulated ECS has no one-off tasks attached');
    return this.oneOff;
  }

  private onTargetHealth(groupArn: string, id: string, state: string) {
    for (const service of this.services.values()) {
      if (service.targetGroupArn !== groupArn) continue;
      const task = service.tasks.find((t) => t.ip === id);
      if (!task) continue;
      if (state === 'unhealthy') {
        // ECS replaces tasks that fail their load balancer health checks. The scheduler stops them
        // (stopCode ServiceSchedulerInitiated), the reason naming the target group: "Task failed ELB
        // health checks in (target-group arn:…)", as the ECS console and CLI show a stopped task.
        const deployment = service.deployments.find((d) => d.id === task.deploymentId);
        if (deployment) deployment.failedTasks++;
        this.stop(
          service,
          task,
          'ServiceSchedulerInitiated',
          `Task failed ELB health checks in (target-group ${groupArn})`,
        );
      }
      this.reconcile(service);
    }
  }

  private live(service: SimService, deployment: SimDeployment) {
    return service.tasks.filter(
      (t) => t.deploymentId === deployment.id && (t.state === 'PROVISIONING' || t.state === 'RUNNING'),
    );
  }

  private healthy(service: SimService, deployment: SimDeployment) {
    return service.tasks.filter(
      (t) =>
        t.deploymentId === deployment.id &&
        t.state === 'RUNNING' &&
        (service.targetGroupArn === undefined ||
          this.elbv2.targetState(service.targetGroupArn, t.ip) === 'healthy'),
    );
  }

  /** The service scheduler: converge tasks on the PRIMARY deployment, retire old ones, report rollout. */
  private reconcile(service: SimService) {
    const primary = service.deployments[0];
    if (!primary) return;
    const threshold = Math.max(3, Math.min(200, Math.ceil(primary.desiredCount * 0.5)));
    if (
      service.circuitBreaker?.enable &&
      primary.rolloutState === 'IN_PROGRESS' &&
      primary.failedTasks >= threshold
    ) {
      primary.rolloutState = 'FAILED';
      primary.rolloutStateReason = `ECS deployment circuit breaker: tasks failed to start (${primary.failedTasks} failed).`;
      primary.updatedAt = new Date();
      this.notify(
        `${service.name}: deployment FAILED (circuit breaker, ${primary.failedTasks} tasks failed health checks)`,
      );
      this.deploymentEvent(
        service,
        primary,
        'SERVICE_DEPLOYMENT_FAILED',
        'ERROR',
        primary.rolloutStateReason,
      );
    }
    const live = this.live(service, primary);
    if (primary.rolloutState !== 'FAILED') {
      for (let i = live.length; i < primary.desiredCount; i++) this.launch(service, primary);
    }
    for (const extra of live.slice(primary.desiredCount)) this.stop(service, extra);

    const healthy = this.healthy(service, primary).length;
    const olds = service.deployments.slice(1);
    if (healthy >= primary.desiredCount) {
      for (const old of olds) for (const task of this.live(service, old)) this.stop(service, task);
    }
    service.deployments = [
      primary,
      ...olds.filter((d) => service.tasks.some((t) => t.deploymentId === d.id)),
    ];

    const before = primary.rolloutState;
    if (before === 'IN_PROGRESS' && service.deployments.length === 1 && healthy === primary.desiredCount) {
      primary.rolloutState = 'COMPLETED';
      primary.rolloutStateReason = 'ECS deployment completed.';
      primary.updatedAt = new Date();
      this.deploymentEvent(
        service,
        primary,
        'SERVICE_DEPLOYMENT_COMPLETED',
        'INFO',
        `ECS deployment ${primary.id} completed.`,
      );
    }
    this.reportProgress(service, primary, healthy);
  }

  private lastReport = new Map<string, string>();
  private reportProgress(service: SimService, primary: SimDeployment, healthy: number) {
    const running = service.tasks.filter(
      (t) => t.deploymentId === primary.id && t.state === 'RUNNING',
    ).length;
    const message = `${service.name}: ${running}/${primary.desiredCount} tasks running, ${healthy} healthy, rollout ${primary.rolloutState}`;
    if (this.lastReport.get(service.arn) === message) return;
    this.lastReport.set(service.arn, message);
    this.notify(message);
  }

  private deploymentEvent(
    service: SimService,
    deployment: SimDeployment,
    eventName: string,
    eventType: string,
    reason: string,
  ) {
    this.bus.emit('aws.ecs', 'ECS Deployment State Change', [service.arn], {
      eventType,
      eventName,
      deploymentId: deployment.id,
      updatedAt: new Date().toISOString(),
      reason,
    });
  }

  private service(cluster: string | undefined, name: string): SimService {
    const clusterName = this.clusterName(cluster ?? 'default');
    if (!this.clusters.has(clusterName)) throw notFound('ClusterNotFoundException', 'Cluster not found.');
    const service = this.services.get(this.key(clusterName, name));
    if (!service) throw notFound('ServiceNotFoundException', 'Service not found.');
    return service;
  }

  // --- API --------------------------------------------------------------------------------

  /** `caller.api`: a call through the API (handle()), which may see a stale view; a direct read is current. */
  DescribeServices(input: { cluster?: string; services: string[] }, caller: { api?: boolean } = {}) {
    const clusterName = this.clusterName(input.cluster ?? 'default');
    if (!this.clusters.has(clusterName)) throw notFound('ClusterNotFoundException', 'Cluster not found.');
    if (input.services.length > 10)
      throw awsError('InvalidParameterException', 'services can have at most 10 items');
    const services = [];
    const failures = [];
    for (const name of input.services) {
      const s = this.services.get(this.key(clusterName, name));
      if (!s) {
        failures.push({
          arn: `arn:aws:ecs:${this.options.region}:${this.options.account}:service/${clusterName}/${name}`,
          reason: 'MISSING',
        });
        continue;
      }
      const stale = caller.api ? s.staleView : undefined;
      if (stale && Date.now() < stale.until) {
        services.push(structuredClone(stale.view));
        continue;
      }
      services.push(this.describe(s));
    }
    return { services, failures };
  }

  private describe(s: SimService) {
    const primary = s.deployments[0];
    return {
      serviceArn: s.arn,
      serviceName: s.name,
      clusterArn: s.clusterArn,
      status: 'ACTIVE',
      desiredCount: primary?.desiredCount ?? 0,
      runningCount: s.tasks.filter((t) => t.state === 'RUNNING').length,
      pendingCount: s.tasks.filter((t) => t.state === 'PROVISIONING').length,
      taskDefinition: primary?.taskDefinition,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      ...(s.networkConfiguration ? { networkConfiguration: structuredClone(s.networkConfiguration) } : {}),
      // Its rollback (ECS redeploying the last completed revision) is not modelled: Switchyard
      // sets rollback false and cleans up the idle colour itself.
      ...(s.circuitBreaker
        ? { deploymentConfiguration: { deploymentCircuitBreaker: s.circuitBreaker } }
        : {}),
      loadBalancers: s.targetGroupArn
        ? [
            {
              targetGroupArn: s.targetGroupArn,
              containerName: s.containerName,
              containerPort: s.containerPort,
            },
          ]
        : [],
      deployments: s.deployments.map((d) => ({
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinition,
        desiredCount: d.desiredCount,
        runningCount: s.tasks.filter((t) => t.deploymentId === d.id && t.state === 'RUNNING').length,
        pendingCount: s.tasks.filter((t) => t.deploymentId === d.id && t.state === 'PROVISIONING').length,
        failedTasks: d.failedTasks,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
        createdAt: d.createdAt,
        updatedAt: d.updatedAt,
      })),
    };
  }

  UpdateService(input: {
    cluster?: string;
    service: string;
    taskDefinition?: string;
    desiredCount?: number;
    forceNewDeployment?: boolean;
    deploymentConfiguration?: { deploymentCircuitBreaker?: { enable: boolean; rollback: boolean } };
  }) {
    const service = this.service(input.cluster, input.service);
    const breaker = input.deploymentConfiguration?.deploymentCircuitBreaker;
    if (breaker) service.circuitBreaker = { enable: breaker.enable, rollback: breaker.rollback };
    const primary = service.deployments[0] as SimDeployment;
    if (input.taskDefinition && !this.taskDefinitions.has(input.taskDefinition)) {
      throw awsError('ClientException', `Unable to describe task definition ${input.taskDefinition}.`);
    }
    const desired = input.desiredCount ?? primary.desiredCount;
    if (desired < 0) throw awsError('InvalidParameterException', 'desiredCount must be >= 0');
    // Readers see the service as it was before this update for a moment; one still shown from an
    // earlier update stays shown, for longer.
    const now = Date.now();
    if (this.staleReads) {
      const shown = service.staleView && now < service.staleView.until ? service.staleView : undefined;
      const until = now + this.staleRandom.int(this.staleReads.minMs, this.staleReads.maxMs);
      service.staleView = {
        until: Math.max(until, shown?.until ?? 0),
        view: shown?.view ?? this.describe(service),
      };
    }
    if (
      (input.taskDefinition && input.taskDefinition !== primary.taskDefinition) ||
      input.forceNewDeployment
    ) {
      for (const d of service.deployments) d.status = 'ACTIVE';
      const deployment = this.newDeployment(input.taskDefinition ?? primary.taskDefinition, desired);
      service.deployments.unshift(deployment);
      this.deploymentEvent(
        service,
        deployment,
        'SERVICE_DEPLOYMENT_IN_PROGRESS',
        'INFO',
        `ECS deployment ${deployment.id} in progress.`,
      );
    } else {
      primary.desiredCount = desired;
      primary.updatedAt = new Date();
    }
    this.reconcile(service);
    return {
      service: this.DescribeServices({ cluster: service.cluster, services: [service.name] }).services[0],
    };
  }

  DescribeTaskDefinition(input: { taskDefinition: string; include?: string[] }) {
    const td = this.definitionOf(input.taskDefinition);
    if (!td) throw awsError('ClientException', 'Unable to describe task definition.');
    return {
      taskDefinition: structuredClone(td),
      tags: input.include?.includes('TAGS')
        ? structuredClone(this.taskDefinitionTags.get(td.taskDefinitionArn ?? '') ?? [])
        : undefined,
    };
  }

  RegisterTaskDefinition(
    input: { family: string; containerDefinitions: ContainerDefinition[] } & Record<string, unknown>,
  ) {
    if (!input.family || !input.containerDefinitions?.length) {
      throw awsError(
        'ClientException',
        'Task definition must have a family and at least one container definition.',
      );
    }
    for (const key of [
      'taskDefinitionArn',
      'revision',
      'status',
      'compatibilities',
      'requiresAttributes',
      'registeredAt',
    ]) {
      if (key in input && input[key] !== undefined)
        throw awsError('ValidationException', `Unexpected key '${key}' found in params`);
    }
    refuseUnregistrable(input);
    const { tags, ...definition } = input;
    const td = this.registerTaskDefinition(definition as TaskDefinition & { family: string });
    if (Array.isArray(tags) && tags.length > 0) {
      this.taskDefinitionTags.set(td.taskDefinitionArn ?? '', structuredClone(tags));
    }
    return { taskDefinition: td, ...(Array.isArray(tags) && tags.length > 0 ? { tags } : {}) };
  }
}

/**
 * Fargate's task sizes, CPU units → memory MiB: "Task CPU and memory" in the Amazon ECS developer
 * guide. Kept here apart from the product's own table (functions/shared/task-definition.ts), so the
 * simulated ECS checks Switchyard rather than agreeing with it.
 */
const FARGATE_SIZES: [number, number, number, number][] = [
  // cpu, memory from, memory to, step
  [256, 512, 2048, 512],
  [512, 1024, 4096, 1024],
  [1024, 2048, 8192, 1024],
  [2048, 4096, 16384, 1024],
  [4096, 8192, 30720, 1024],
  [8192, 16384, 61440, 4096],
  [16384, 32768, 122880, 8192],
];

/** What RegisterTaskDefinition refuses (ECS API reference and service quotas), as ECS says it. */
const refuseUnregistrable = (
  input: { containerDefinitions: ContainerDefinition[] } & Record<string, unknown>,
) => {
  if (Buffer.byteLength(JSON.stringify(input)) > 65_536)
    throw awsError('ClientException', 'Task definition size exceeds the maximum of 65536 bytes.');
  if (input.containerDefinitions.length > 10)
    throw awsError('ClientException', 'Too many containers: a task definition can have at most 10.');
  for (const c of input.containerDefinitions) {
    if (!c.image) throw awsError('ClientException', 'Container.image should not be null or empty.');
  }
  const compatibilities = (input.requiresCompatibilities as string[] | undefined) ?? [];
  if (!compatibilities.includes('FARGATE')) return;
  if (input.networkMode !== 'awsvpc')
    throw awsError('ClientException', "Fargate only supports network mode 'awsvpc'.");
  const cpu = Number(input.cpu);
  const memory = Number(input.memory);
  const size = FARGATE_SIZES.find(([c]) => c === cpu);
  // 256 CPU takes 512, 1024 and 2048: its table row steps by 512 from 512, which lists 1536 too.
  const fits =
    size !== undefined &&
    memory >= size[1] &&
    memory <= size[2] &&
    (memory - size[1]) % size[3] === 0 &&
    !(cpu === 256 && memory === 1536);
  if (!fits)
    throw awsError(
      'ClientException',
      `No Fargate configuration exists for given values: ${input.cpu} CPU, ${input.memory} memory. See the Amazon ECS documentation for the valid values.`,
    );
};
