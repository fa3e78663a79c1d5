/**
 * The reconciler's best-effort checking (a throttled batch waits for the next round; the rest go
 * on), and the fast rollback a failed bake's resume makes.
 */

import { fileURLToPath } from 'node:url';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SendTaskFailureCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { run as registerWait } from '../../functions/register-wait/run.ts';
import { loadTargetsFile } from '../../functions/shared/config.ts';
import { failedMemberTasks } from '../../functions/shared/member-health.ts';
import type { Store, WaitRecord } from '../../functions/shared/store.ts';
import { WaitKind } from '../../functions/shared/vocabulary.ts';
import { checkWaits, resumeWait, type WaitAws } from '../../functions/shared/waits.ts';

const wait = (waitId: string, kind: WaitKind, condition: Record<string, unknown>): WaitRecord => ({
  resourceKey: waitId,
  waitId,
  kind,
  releaseId: 'r',
  taskToken: 't',
  status: 'PENDING' as WaitRecord['status'],
  createdAt: '2026-01-05T09:00:00Z',
  condition,
  expiresAt: 0,
});

describe('checkWaits', () => {
  const ecs = mockClient(ECSClient);
  const rds = mockClient(RDSClient);
  const throttled = Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
    $retryable: { throttling: true },
  });
  ecs.rejects(throttled);
  rds.resolves({ DBSnapshots: [{ DBSnapshotIdentifier: 'snap-1', Status: 'available' }] });
  const aws = { ecs, rds, elbv2: {}, cloudwatch: {}, now: () => new Date() } as unknown as WaitAws;
  const waits = [
    wait('service', WaitKind.ServiceStable, { cluster: 'prod', service: 'a-green', taskDefinitionArn: 'td' }),
    wait('snapshot', WaitKind.SnapshotAvailable, { snapshotId: 'snap-1', databaseKind: 'instance' }),
  ];

  it('with onTransientError, skips the throttled batch and still checks the others', async () => {
    const skipped: string[] = [];
    const checks = await checkWaits(waits, aws, { onTransientError: (what) => skipped.push(what) });
    expect(skipped).toEqual(['services a-green']);
    expect(checks.has('service')).toBe(false);
    expect(checks.get('snapshot')).toMatchObject({ state: 'done' });
  });

  it('without it (an event-driven check), the error propagates', async () => {
    await expect(checkWaits(waits, aws)).rejects.toThrow('Rate exceeded');
  });
});

describe('a snapshot RDS does not list', () => {
  const rds = mockClient(RDSClient);
  rds.resolves({ DBSnapshots: [] });
  const snapshot = wait('snapshot', WaitKind.SnapshotAvailable, {
    snapshotId: 'snap-2',
    databaseKind: 'instance',
  });
  const at = (iso: string) =>
    ({ rds, ecs: {}, elbv2: {}, cloudwatch: {}, now: () => new Date(iso) }) as unknown as WaitAws;

  it('is pending within a minute of its wait (a read may not show a snapshot just created), then failed', async () => {
    // The wait began at 09:00:00.
    expect((await checkWaits([snapshot], at('2026-01-05T09:00:01Z'))).get('snapshot')).toEqual({
      state: 'pending',
      detail: 'snapshot snap-2 is not listed yet',
    });
    expect((await checkWaits([snapshot], at('2026-01-05T09:01:00Z'))).get('snapshot')).toMatchObject({
      state: 'failed',
      error: 'SnapshotFailed',
      cause: 'snapshot snap-2 is missing',
    });
  });
});

describe('resumeWait of a failed bake', () => {
  const elbv2 = mockClient(ElasticLoadBalancingV2Client);
  const sfn = mockClient(SFNClient);
  const now = Date.parse('2026-01-05T09:10:00Z');
  const bake = (endsAt: string) =>
    wait('bake', WaitKind.Bake, {
      alarms: ['a-5xx'],
      endsAt,
      restore: {
        colour: 'blue',
        traffic: {
          listenerRuleArn: 'arn:rule',
          targetGroups: { blue: 'arn:tg/blue', green: 'arn:tg/green' },
        },
        actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [] } }],
      },
    });
  const store = {
    claimWait: async () => true,
    unclaimWait: async () => {},
    appendPhase: async () => {},
    updateRelease: async () => {},
  } as unknown as Store;
  const deps = {
    store,
    sfn: new SFNClient({}),
    elbv2: new ElasticLoadBalancingV2Client({}),
    now: () => new Date(now),
  };
  beforeEach(() => {
    elbv2.reset();
    sfn.reset();
  });
  const failed = { state: 'failed', error: 'AlarmTriggered', cause: 'alarm "a-5xx" is in ALARM' } as const;
  const backOnBlue = {
    Rules: [
      {
        Actions: [
          {
            Type: 'forward' as const,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: 'arn:tg/blue', Weight: 100 },
                { TargetGroupArn: 'arn:tg/green', Weight: 0 },
              ],
            },
          },
        ],
      },
    ],
  };

  it('puts the weights back itself, then fails the task saying so', async () => {
    elbv2.on(DescribeRulesCommand).resolves(backOnBlue);
    expect(await resumeWait(bake('2026-01-05T09:20:00Z'), failed, deps)).toBe('delivered');
    expect(elbv2).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      error: 'AlarmTriggered',
      cause: expect.stringContaining('all traffic back on blue (blue=100 green=0)'),
    });
  });

  it('in the bake’s last 2 seconds leaves the weights to RollBackTraffic: the bake may be ending meanwhile', async () => {
    expect(await resumeWait(bake('2026-01-05T09:10:01.500Z'), failed, deps)).toBe('delivered');
    expect(elbv2).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { cause: 'alarm "a-5xx" is in ALARM' });
  });
});

describe("a member task's stop, judged by that task alone", () => {
  const ecs = mockClient(ECSClient);
  const now = new Date('2026-01-05T09:10:00Z');
  const aws = { ecs, rds: {}, elbv2: {}, cloudwatch: {}, now: () => now } as unknown as WaitAws;
  const bake = wait('bake', WaitKind.Bake, {
    alarms: ['a-5xx'],
    percent: 10,
    colour: 'green',
    endsAt: '2026-01-05T09:20:00Z',
    targetGroupArn: 'arn:tg/green',
    memberServices: [{ member: 'worker', cluster: 'prod', service: 'a-worker-green' }],
    deployedAfter: '2026-01-05T09:00:00Z',
  });
  const stopped = { cluster: 'prod', taskArn: 'arn:aws:ecs:us-east-1:1:task/prod/abc123' };
  const task = (overrides: Partial<Task>) => ({
    tasks: [
      {
        taskArn: stopped.taskArn,
        group: 'service:a-worker-green',
        lastStatus: 'STOPPED',
        createdAt: new Date('2026-01-05T09:01:00Z'),
        stopCode: 'EssentialContainerExited' as const,
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'worker', exitCode: 1 }],
        ...overrides,
      },
    ],
  });
  beforeEach(() => ecs.reset());

  it('fails the bake on one DescribeTasks when the new colour’s task exited on its own', async () => {
    ecs.on(DescribeTasksCommand).resolves(task({}));
    const checks = await checkWaits([bake], aws, { stoppedTask: stopped });
    expect(checks.get('bake')).toEqual({
      state: 'failed',
      error: 'AlarmTriggered',
      cause:
        'at 10% on green: group member worker: task abc123 stopped: EssentialContainerExited (exit code 1): Essential container in task exited',
    });
    // Nothing else was read: not the alarms, not the targets, not the other members' tasks.
    expect(ecs.calls()).toHaveLength(1);
    expect(ecs.commandCalls(DescribeTasksCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      tasks: [stopped.taskArn],
    });
  });

  it.each([
    [
      'a task created before this release began (a late event about an earlier one)',
      { createdAt: new Date('2026-01-05T08:59:59Z') },
    ],
    [
      'a task the scheduler stopped (scale-in, replacement)',
      { stopCode: 'ServiceSchedulerInitiated' as const },
    ],
    ['a task of the old colour', { group: 'service:a-worker-blue' }],
    ['a task not yet stopped (the event ran ahead of the read)', { lastStatus: 'DEACTIVATING' }],
  ])('leaves the bake running for %s', async (_, overrides) => {
    ecs.on(DescribeTasksCommand).resolves(task(overrides));
    const checks = await checkWaits([bake], aws, { stoppedTask: stopped });
    expect(checks.get('bake')).toMatchObject({ state: 'pending' });
  });

  it('a bake registered without deployedAfter (an older wait) gets the full check', async () => {
    const { deployedAfter: _, ...condition } = bake.condition;
    const cloudwatch = { send: async () => ({ MetricAlarms: [] }) };
    const elbv2 = { send: async () => ({ TargetHealthDescriptions: [] }) };
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [{ serviceName: 'a-worker-green', deployments: [] }] });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    const checks = await checkWaits(
      [{ ...bake, condition }],
      { ...aws, cloudwatch, elbv2 } as unknown as WaitAws,
      {
        stoppedTask: stopped,
      },
    );
    expect(checks.get('bake')).toMatchObject({ state: 'pending' });
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(1);
  });
});

describe('a member judged in full: only its own rollout’s tasks', () => {
  const ecs = mockClient(ECSClient);
  beforeEach(() => ecs.reset());

  it('a previous rollout’s task that stopped after this one began is not this release’s failure', async () => {
    // v2's worker crashed; v3 was pushed right after and deployed while v2's task was still stopping.
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'a-worker-green',
          deployments: [
            { id: 'ecs-svc/3', status: 'PRIMARY', createdAt: new Date('2026-01-05T09:10:00Z') },
            { id: 'ecs-svc/2', status: 'ACTIVE', createdAt: new Date('2026-01-05T09:00:00Z') },
          ],
        },
      ],
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:task/prod/old', 'arn:task/prod/new'] });
    const stopped = (id: string, startedBy: string) => ({
      taskArn: `arn:task/prod/${id}`,
      startedBy,
      createdAt: new Date('2026-01-05T09:01:00Z'),
      stoppedAt: new Date('2026-01-05T09:10:05Z'),
      stopCode: 'EssentialContainerExited' as const,
      containers: [{ name: 'worker', exitCode: 1 }],
    });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped('old', 'ecs-svc/2')] });
    const services = [{ member: 'worker', cluster: 'prod', service: 'a-worker-green' }];
    expect(await failedMemberTasks(ecs as unknown as ECSClient, services)).toEqual(new Map());
    // The same stop by a task of this rollout fails it.
    ecs.on(DescribeTasksCommand).resolves({ tasks: [stopped('new', 'ecs-svc/3')] });
    expect([...(await failedMemberTasks(ecs as unknown as ECSClient, services)).keys()]).toEqual(['worker']);
  });
});

describe("a group bake's registration", () => {
  it('judges a stopped task from when the release began validating (lock held), not from its execution start', async () => {
    // A release queued behind another starts its execution early: the earlier release's tasks,
    // created after that, are not this one's (review finding). Validate runs with the lock held.
    const targets = loadTargetsFile(
      fileURLToPath(new URL('../fixtures/targets-group.json', import.meta.url)),
    );
    const validatedAt = '2026-01-05T09:10:00.000Z';
    const put: WaitRecord[] = [];
    const quiet = {
      send: async () => ({ MetricAlarms: [], TargetHealthDescriptions: [], services: [], taskArns: [] }),
    };
    const store = {
      getRelease: async () => ({
        releaseId: 'r',
        target: 'bugs',
        phases: [{ name: 'Validate', startedAt: validatedAt }],
      }),
      putWait: async (w: WaitRecord) => {
        put.push(w);
      },
    };
    const worker = {
      name: 'worker',
      role: 'worker' as const,
      cluster: 'prod',
      fromColour: 'blue' as const,
      toColour: 'green' as const,
      fromService: 'bugs-worker-blue',
      toService: 'bugs-worker-green',
      container: 'worker',
      desiredCount: 4,
      fromTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/bugs-worker:1',
      image: 'repo@sha256:ab',
    };
    await registerWait(
      {
        releaseId: 'bugs-0123456789ab',
        target: 'bugs',
        kind: WaitKind.Bake,
        taskToken: 't',
        enteredAt: '2026-01-05T09:20:00.000Z',
        traffic: {
          step: 0,
          stepCount: 2,
          percent: 10,
          bakeSeconds: 600,
          last: false,
          weights: { blue: 90, green: 10 },
        },
        toColour: 'green',
        members: [worker],
      },
      {
        targets,
        store,
        ecs: quiet,
        elbv2: quiet,
        cloudwatch: quiet,
        // The step's notice goes out on registration.
        sns: quiet,
        events: quiet,
        eventBus: 'default',
        now: () => new Date('2026-01-05T09:20:00Z'),
      } as unknown as Parameters<typeof registerWait>[1],
    );
    expect(put[0]?.condition.deployedAfter).toBe(validatedAt);
  });
});

describe('a postTraffic hook’s check: its alarms read beside its task', () => {
  const hook = wait('hook', WaitKind.HookTask, {
    cluster: 'prod',
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/h1',
    hook: 'smoke',
    container: 'app',
    alarms: ['api-5xx'],
  });
  const task = (lastStatus: string): Task => ({
    taskArn: hook.condition.taskArn as string,
    lastStatus,
    stopCode: lastStatus === 'STOPPED' ? 'EssentialContainerExited' : undefined,
    containers: [{ name: 'app', exitCode: lastStatus === 'STOPPED' ? 0 : undefined }],
  });
  /** Both clients answer only when told to, and say what was sent before either answered. */
  const held = (taskState: string, alarm: string | Error) => {
    const sent: string[] = [];
    const gates: (() => void)[] = [];
    const hold = <T>(name: string, value: () => T) =>
      new Promise<T>((resolve, reject) => {
        sent.push(name);
        gates.push(() => {
          try {
            resolve(value());
          } catch (error) {
            reject(error);
          }
        });
      });
    const aws = {
      ecs: { send: () => hold('DescribeTasks', () => ({ tasks: [task(taskState)] })) },
      cloudwatch: {
        send: () =>
          hold('DescribeAlarms', () => {
            if (alarm instanceof Error) throw alarm;
            return {
              MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: alarm, StateReason: '5xx above 1%' }],
            };
          }),
      },
      rds: {},
      elbv2: {},
      now: () => new Date('2026-01-05T09:01:00Z'),
    } as unknown as WaitAws;
    const open = () => {
      for (const gate of gates.splice(0)) gate();
    };
    return { aws, sent, open };
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  /** Opens the gates until the check ends (one read after the other takes two rounds). */
  const finish = async <T>(checking: Promise<T>, open: () => void): Promise<T> => {
    let ended = false;
    checking.then(
      () => {
        ended = true;
      },
      () => {
        ended = true;
      },
    );
    while (!ended) {
      await settle();
      open();
    }
    return checking;
  };

  it('sends DescribeAlarms and DescribeTasks before either answers', async () => {
    const { aws, sent, open } = held('RUNNING', 'OK');
    const checking = checkWaits([hook], aws);
    await settle();
    expect(sent.sort()).toEqual(['DescribeAlarms', 'DescribeTasks']);
    expect((await finish(checking, open)).get('hook')).toMatchObject({ state: 'pending' });
  });

  it('a running task with its alarm firing fails the hook; a stopped one is done whatever the alarm', async () => {
    const running = held('RUNNING', 'ALARM');
    const failing = checkWaits([hook], running.aws);
    expect((await finish(failing, running.open)).get('hook')).toMatchObject({
      state: 'failed',
      error: 'AlarmTriggered',
    });
    const stopped = held('STOPPED', 'ALARM');
    const done = checkWaits([hook], stopped.aws);
    expect((await finish(done, stopped.open)).get('hook')).toMatchObject({
      state: 'done',
      output: { exitCode: 0 },
    });
  });

  it('an alarm read that fails: the event-driven check throws; the reconciler’s still judges the task', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
      $retryable: { throttling: true },
    });
    const event = held('RUNNING', throttled);
    const thrown = checkWaits([hook], event.aws);
    await expect(finish(thrown, event.open)).rejects.toThrow('Rate exceeded');
    const tick = held('STOPPED', throttled);
    const skipped: string[] = [];
    const checked = checkWaits([hook], tick.aws, { onTransientError: (what) => skipped.push(what) });
    expect((await finish(checked, tick.open)).get('hook')).toMatchObject({ state: 'done' });
    expect(skipped).toEqual(['hook alarms']);
  });
});
