/**
 * Every step's `run()` against a fresh simulated account (real SDK commands, dynalite for DynamoDB),
 * called directly, without a state machine: the branching logic and its error paths.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run as acquireLock } from '../../functions/acquire-lock/run.ts';
import { run as backupDatabase, snapshotIdFor } from '../../functions/backup-database/run.ts';
import { run as checkHealth } from '../../functions/check-health/run.ts';
import { run as cleanUp } from '../../functions/clean-up-inactive-colour/run.ts';
import { run as deployRun } from '../../functions/deploy-inactive-colour/run.ts';
import { run as notify } from '../../functions/notify/run.ts';
import { run as reconcile } from '../../functions/reconciler/run.ts';
import { run as recordOutcome } from '../../functions/record-outcome/run.ts';
import { run as registerWait } from '../../functions/register-wait/run.ts';
import { run as releaseLock } from '../../functions/release-lock/run.ts';
import { run as rollBack } from '../../functions/roll-back-traffic/run.ts';
import { run as scaleDown } from '../../functions/scale-down-old-colour/run.ts';
import { ENDED } from '../../functions/shared/halt.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import type { Plan } from '../../functions/shared/schemas.ts';
import { allTo, setWeights } from '../../functions/shared/traffic.ts';
import { run as shiftTraffic } from '../../functions/shift-traffic/run.ts';
import { run as startRelease } from '../../functions/start-release/run.ts';
import { run as validateRun } from '../../functions/validate/run.ts';
import { run as waitResume } from '../../functions/wait-resume/run.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import { keptWarmFunctions, startChainFunctions } from '../../state-machines/definitions.ts';
import { setWeightsByHand, startWorld, type TestWorld } from '../support/runtime.ts';

/** Validate's plan: a release alone never waits for its turn to register. */
const validate = async (...args: Parameters<typeof validateRun>) => {
  const out = await validateRun(...args);
  if ('waitUntil' in out) throw new Error(`validate waits for its turn until ${out.waitUntil}`);
  return out;
};

/** DeployInactiveColour's deployment: a release alone never waits for its turn to register. */
const deploy = async (...args: Parameters<typeof deployRun>) => {
  const out = await deployRun(...args);
  if ('waitUntil' in out) throw new Error(`the deploy waits for its turn until ${out.waitUntil}`);
  return out;
};

let w: TestWorld;
beforeEach(async () => {
  // No rules, no reconciler schedule: each test calls the steps itself.
  w = await startWorld({ automation: false });
});
afterEach(async () => {
  await w.rt.dispose();
});

const v2 = () => {
  const digest = w.rt.account.ecr.push('checkout-api', 'v2', { silent: true }).digest;
  return { repository: 'checkout-api', tag: 'v2', digest };
};
/** What the execution input leaves to acquire-lock's defaults. */
const asRelease = { kind: 'release', ifRunning: 'wait' } as const;
const trigger = (at = '2026-01-05T09:00:00Z') => ({ source: 'ecr-push' as const, eventId: 'e-1', at });

/** Creates the release record and takes the lock, as AcquireLock does first in every execution. */
const started = async (releaseId = 'checkout-api-v2', at?: string) => {
  const image = v2();
  await w.rt.until(
    acquireLock(
      {
        ...asRelease,
        releaseId,
        target: 'checkout-api',
        image,
        trigger: trigger(at),
        executionArn: `arn:exec:${releaseId}`,
        taskToken: `token-${releaseId}`,
      },
      w.deps,
    ),
  );
  return image;
};

const planned = async (): Promise<Plan> => {
  const image = await started();
  return w.rt.until(validate({ releaseId: 'checkout-api-v2', target: 'checkout-api', image }, w.deps));
};

describe('acquire-lock', () => {
  it('takes a free lock and marks the release Running', async () => {
    await started();
    expect(await w.deps.store.getLock('checkout-api')).toMatchObject({ owner: 'checkout-api-v2' });
    expect(await w.deps.store.getRelease('checkout-api-v2')).toMatchObject({
      status: 'Running',
      environment: 'prod',
    });
  });

  it('queues behind the holder, and a newer push supersedes the queued one', async () => {
    await started('rel-a', '2026-01-05T09:00:00Z');
    const b = acquireLock(
      {
        ...asRelease,
        releaseId: 'rel-b',
        target: 'checkout-api',
        image: v2(),
        trigger: trigger('2026-01-05T09:01:00Z'),
        executionArn: 'arn:b',
        taskToken: 't-b',
      },
      w.deps,
    );
    expect(await w.rt.until(b)).toEqual({ state: 'queued', behind: 'rel-a' });
    const c = acquireLock(
      {
        ...asRelease,
        releaseId: 'rel-c',
        target: 'checkout-api',
        image: v2(),
        trigger: trigger('2026-01-05T09:02:00Z'),
        executionArn: 'arn:c',
        taskToken: 't-c',
      },
      w.deps,
    );
    expect(await w.rt.until(c)).toEqual({ state: 'queued', behind: 'rel-a' });
    expect((await w.deps.store.getLock('checkout-api'))?.queued?.releaseId).toBe('rel-c');
  });

  it('throws Superseded for a push older than the one already queued', async () => {
    await started('rel-a', '2026-01-05T09:00:00Z');
    await w.rt.until(
      acquireLock(
        {
          ...asRelease,
          releaseId: 'rel-c',
          target: 'checkout-api',
          image: v2(),
          trigger: trigger('2026-01-05T09:02:00Z'),
          executionArn: 'arn:c',
          taskToken: 't-c',
        },
        w.deps,
      ),
    );
    const late = acquireLock(
      {
        ...asRelease,
        releaseId: 'rel-b',
        target: 'checkout-api',
        image: v2(),
        trigger: trigger('2026-01-05T09:01:00Z'),
        executionArn: 'arn:b',
        taskToken: 't-b',
      },
      w.deps,
    );
    await expect(w.rt.until(late)).rejects.toMatchObject({
      name: 'Superseded',
      message: expect.stringContaining('rel-c'),
    });
  });

  it('rejects an unknown target before writing anything', async () => {
    const bad = acquireLock(
      {
        ...asRelease,
        releaseId: 'x-1',
        target: 'payments',
        image: v2(),
        trigger: trigger(),
        executionArn: 'arn:x',
        taskToken: 't',
      },
      w.deps,
    );
    await expect(w.rt.until(bad)).rejects.toMatchObject({ name: 'TargetNotFound' });
    expect(await w.deps.store.getRelease('x-1')).toBeUndefined();
  });
});

describe('validate', () => {
  it('plans green at the live colour size when blue takes all traffic', async () => {
    const plan = await planned();
    expect(plan).toMatchObject({
      fromColour: 'blue',
      toColour: 'green',
      toService: 'checkout-api-green',
      desiredCount: 4,
      hasDatabase: true,
      graceSeconds: 30,
      strategy: 'all-at-once',
      steps: [{ percent: 100, bakeSeconds: 1200 }],
    });
  });

  it('refuses an alarm name CloudWatch does not know, and an alarm already in ALARM', async () => {
    const image = await started();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', image };
    const watching = (alarms: string[]) => ({
      ...w.deps,
      targets: { targets: w.deps.targets.targets.map((t) => ({ ...t, alarms })) },
    });
    await expect(w.rt.until(validate(input, watching(['checkout-5xx-typo'])))).rejects.toMatchObject({
      name: 'ResourceNotFound',
      message: 'CloudWatch has no alarm named "checkout-5xx-typo" (alarms of checkout-api)',
    });
    w.rt.account.cloudwatch.setState('checkout-api-5xx', 'ALARM', 'Threshold Crossed: [4]');
    await expect(w.rt.until(validate(input, watching(['checkout-api-5xx'])))).rejects.toMatchObject({
      name: 'AlarmTriggered',
      message: expect.stringContaining('alarm "checkout-api-5xx" is in ALARM (Threshold Crossed: [4])'),
    });
  });

  it('fails with ImageNotFound for a digest that is not in ECR', async () => {
    const image = { repository: 'checkout-api', tag: 'v9', digest: `sha256:${'0'.repeat(64)}` };
    await expect(
      w.rt.until(validate({ releaseId: 'r', target: 'checkout-api', image }, w.deps)),
    ).rejects.toMatchObject({ name: 'ImageNotFound' });
  });

  it('fails with TrafficSplit when the rule is not 100/0', async () => {
    const rule = w.rt.account.elbv2.rules.get(w.checkout.traffic.listenerRuleArn as string);
    if (!rule) throw new Error('fixture has no rule');
    rule.actions = [
      {
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: w.checkout.traffic.targetGroups.blue, Weight: 50 },
            { TargetGroupArn: w.checkout.traffic.targetGroups.green, Weight: 50 },
          ],
        },
      },
    ];
    const image = v2();
    await expect(
      w.rt.until(validate({ releaseId: 'r', target: 'checkout-api', image }, w.deps)),
    ).rejects.toMatchObject({
      name: 'TrafficSplit',
      message: expect.stringContaining('blue=50 green=50'),
    });
  });

  it('fails with DigestAlreadyActive when the live colour already runs the image', async () => {
    const digest = EcrModel.digestOf('checkout-api', 'v1');
    const image = { repository: 'checkout-api', tag: 'v1', digest };
    await expect(
      w.rt.until(validate({ releaseId: 'r', target: 'checkout-api', image }, w.deps)),
    ).rejects.toMatchObject({ name: 'DigestAlreadyActive' });
  });

  it('makes its independent reads side by side, and still reports the first problem in the order of its checks', async () => {
    const image = await started();
    const from = w.rt.account.callLog.length;
    await w.rt.until(validate({ releaseId: 'checkout-api-v2', target: 'checkout-api', image }, w.deps));
    const startOf = (call: string) => w.rt.account.callLog.slice(from).find((c) => c.call === call)?.at;
    // One after another, each waited for the one before: about half of the step's time.
    const first = startOf('ECR.DescribeImages');
    for (const call of ['ECS.DescribeServices', 'ELBv2.DescribeRules', 'CloudWatch.DescribeAlarms'])
      expect(startOf(call), call).toBe(first);
    // The rule forwards to both target groups, so both exist: neither is described.
    expect(startOf('ELBv2.DescribeTargetGroups')).toBeUndefined();
    // The live task definition needs the live colour (the services and the rule's weights).
    expect(startOf('ECS.DescribeTaskDefinition')).toBeGreaterThan(first as number);

    // The image is missing, the rule is split and an alarm fires: the image is what is reported.
    w.rt.account.cloudwatch.setState('checkout-api-5xx', 'ALARM', 'Threshold Crossed: [4]');
    await w.rt.until(setWeights(w.deps.elbv2, w.checkout.traffic, { blue: 50, green: 50 }));
    const missing = { repository: 'checkout-api', tag: 'v9', digest: `sha256:${'0'.repeat(64)}` };
    await expect(
      w.rt.until(validate({ releaseId: 'r', target: 'checkout-api', image: missing }, w.deps)),
    ).rejects.toMatchObject({ name: 'ImageNotFound' });
    // Then the split rule, before the alarm.
    await expect(
      w.rt.until(validate({ releaseId: 'r', target: 'checkout-api', image: v2() }, w.deps)),
    ).rejects.toMatchObject({ name: 'TrafficSplit' });
  });

  it('describes only a target group the rule does not name, and names one that does not exist', async () => {
    const traffic = w.checkout.traffic;
    const rule = w.rt.account.elbv2.rules.get(traffic.listenerRuleArn as string);
    if (!rule) throw new Error('fixture has no rule');
    rule.actions = [{ Type: 'forward', TargetGroupArn: traffic.targetGroups.blue }];
    const image = await started();
    // What each DescribeTargetGroups asked for.
    const elbv2 = w.rt.account.elbv2;
    const describe = elbv2.DescribeTargetGroups.bind(elbv2);
    const asked: (string[] | undefined)[] = [];
    elbv2.DescribeTargetGroups = (input) => {
      asked.push(input.TargetGroupArns);
      return describe(input);
    };
    const plan = await w.rt.until(
      validate({ releaseId: 'checkout-api-v2', target: 'checkout-api', image }, w.deps),
    );
    expect(plan.toColour).toBe('green');
    expect(asked).toEqual([[traffic.targetGroups.green]]);
    w.rt.account.elbv2.targetGroups.delete(traffic.targetGroups.green);
    await expect(
      w.rt.until(validate({ releaseId: 'r', target: 'checkout-api', image: v2() }, w.deps)),
    ).rejects.toMatchObject({
      name: 'ResourceNotFound',
      message: expect.stringContaining(
        `a target group of checkout-api does not exist: One or more target groups not found: ${traffic.targetGroups.green}`,
      ),
    });
  });

  it('fails with ResourceNotFound when a service is missing', async () => {
    w.rt.account.ecs.services.delete('prod/checkout-api-green');
    const image = v2();
    await expect(
      w.rt.until(validate({ releaseId: 'r', target: 'checkout-api', image }, w.deps)),
    ).rejects.toMatchObject({
      name: 'ResourceNotFound',
      message: expect.stringContaining('checkout-api-green'),
    });
  });
});

describe('backup-database', () => {
  it('creates one deterministic snapshot, and a retry accepts the existing one', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    expect(await w.rt.until(backupDatabase(input, w.deps))).toEqual({
      snapshotId: snapshotIdFor('checkout-api-v2'),
      databaseKind: 'instance',
    });
    expect(await w.rt.until(backupDatabase(input, w.deps))).toEqual({
      snapshotId: 'switchyard-checkout-api-v2',
      databaseKind: 'instance',
    });
    expect(w.rt.account.rds.snapshots.size).toBe(1);
    expect((await w.deps.store.getRelease('checkout-api-v2'))?.snapshotId).toBe('switchyard-checkout-api-v2');
  });

  it('names the snapshot quota and what to do when RDS refuses for it', async () => {
    const plan = await planned();
    w.rt.account.rds.snapshotQuota = 0;
    await expect(
      w.rt.until(backupDatabase({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps)),
    ).rejects.toMatchObject({
      name: 'SnapshotFailed',
      message: expect.stringMatching(/manual snapshot quota is used up.*keepSnapshots.*Service Quotas/),
    });
  });

  it('refuses a target without a database', async () => {
    const plan = await planned();
    await expect(
      w.rt.until(backupDatabase({ releaseId: 'checkout-api-v2', target: 'search-api', plan }, w.deps)),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
  });
});

describe('deploy-inactive-colour and waits', () => {
  it('pins the image by digest, scales the idle service, points the test listener at it, and is idempotent', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    const first = await w.rt.until(deploy(input, w.deps));
    const registered = w.rt.account.ecs.DescribeTaskDefinition({ taskDefinition: first.taskDefinitionArn });
    expect(registered.taskDefinition?.containerDefinitions?.[0]?.image).toMatch(
      /\.dkr\.ecr\.us-east-1\.amazonaws\.com\/checkout-api@sha256:[0-9a-f]{64}$/,
    );
    expect(first.taskDefinitionArn).toMatch(/task-definition\/checkout-api:2$/);
    const second = await w.rt.until(deploy(input, w.deps));
    expect(second.taskDefinitionArn).toBe(first.taskDefinitionArn);
    const green = w.rt.account.ecs.DescribeServices({ cluster: 'prod', services: ['checkout-api-green'] })
      .services[0];
    expect(green).toMatchObject({ desiredCount: 4, taskDefinition: first.taskDefinitionArn });
    expect(w.rt.account.elbv2.weightsOf(w.checkout.traffic.testListenerArn as string)).toEqual({
      [w.checkout.traffic.targetGroups.green]: 1,
    });
  });

  it('reads the image URI and the live definition side by side, records the revision before deploying it, and a re-run reads nothing from ECS', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan };
    const from = w.rt.account.callLog.length;
    const deployed = await w.rt.until(deploy(input, w.deps));
    const calls = w.rt.account.callLog.slice(from);
    const startOf = (call: string) => calls.find((c) => c.call === call)?.at as number;
    expect(startOf('ECS.DescribeTaskDefinition')).toBe(startOf('ECR.DescribeRepositories'));
    // Only the live definition: the idle service is not read to find an earlier run's revision.
    expect(calls.filter((c) => c.call.startsWith('ECS.Describe')).map((c) => c.call)).toEqual([
      'ECS.DescribeTaskDefinition',
    ]);
    expect(startOf('ECS.RegisterTaskDefinition')).toBeGreaterThan(startOf('ECS.DescribeTaskDefinition'));
    expect((await w.deps.store.getRelease('checkout-api-v2'))?.revisionArn).toBe(deployed.taskDefinitionArn);

    // The step run again (Step Functions retrying it): the recorded revision, no read, no registration
    // (the test listener is pointed again, as before).
    const again = w.rt.account.callLog.length;
    expect(await w.rt.until(deploy(input, w.deps))).toEqual(deployed);
    const ecsAgain = w.rt.account.callLog.slice(again).filter((c) => /^(ECS|ECR)\./.test(c.call));
    expect(ecsAgain.map((c) => c.call)).toEqual(['ECS.UpdateService']);
  });

  it('answers when to run again while its recorded turn to register is more than ten seconds away, then registers on it', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan };
    // Validate recorded the release's turn; here a rebuild put it 30 s from now.
    const turnAt = Math.ceil(Date.now() / 1000) * 1000 + 30_000;
    await w.deps.store.updateRelease('checkout-api-v2', {
      registrationTurnAt: new Date(turnAt).toISOString(),
    });
    const from = w.rt.account.callLog.length;
    expect(await w.rt.until(deployRun(input, w.deps))).toEqual({
      waitUntil: new Date(turnAt - 10_000).toISOString().replace('.000Z', 'Z'),
      summary: expect.stringMatching(/^waiting for its turn to register a task definition/),
    });
    expect(w.rt.account.callLog.slice(from)).toEqual([]);
    // The Wait state's time: the step runs again, and registers.
    await w.rt.wait(21);
    const deployed = await w.rt.until(deploy(input, w.deps));
    expect(deployed.taskDefinitionArn).toMatch(/task-definition\/checkout-api:2$/);
  });

  it('registers a pending wait, and the ECS event resumes it only once the service is stable', async () => {
    const plan = await planned();
    const deployment = await w.rt.until(
      deploy({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps),
    );
    const registered = await w.rt.until(
      registerWait(
        {
          kind: 'service-stable',
          releaseId: 'checkout-api-v2',
          target: 'checkout-api',
          taskToken: 'tok',
          deployment,
        },
        w.deps,
      ),
    );
    expect(registered.state).toBe('pending');
    const event = {
      id: 'e',
      time: '2026-01-05T09:00:00Z',
      source: 'aws.ecs' as const,
      'detail-type': 'ECS Deployment State Change' as const,
      resources: ['arn:aws:ecs:us-east-1:123456789012:service/prod/checkout-api-green'],
      detail: { eventName: 'SERVICE_DEPLOYMENT_COMPLETED' },
    };
    // An early (or forged) event is only a hint: the service is not stable yet, nothing resumes.
    expect(await w.rt.until(waitResume(event, w.deps))).toEqual({
      resourceKeys: ['ecs-service#prod/checkout-api-green'],
      pending: 1,
      resumed: 0,
    });
    await w.rt.wait(180);
    expect(await w.rt.until(waitResume(event, w.deps))).toMatchObject({ resumed: 1 });
    const phases = (await w.deps.store.getRelease('checkout-api-v2'))?.phases.map((p) => p.name);
    expect(phases).toContain('WaitForServiceStable');
    expect(await w.rt.until(waitResume(event, w.deps))).toMatchObject({ pending: 0, resumed: 0 });
  });

  it('lets the reconciler resume a wait whose event never came', async () => {
    const plan = await planned();
    const snapshot = await w.rt.until(
      backupDatabase({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps),
    );
    await w.rt.until(
      registerWait(
        {
          kind: 'snapshot-available',
          releaseId: 'checkout-api-v2',
          target: 'checkout-api',
          taskToken: 'tok',
          snapshot,
        },
        w.deps,
      ),
    );
    // This release's lock names an execution DescribeExecution does not know (the test started no
    // state machine): within its first minutes that may be eventual consistency, so it is left alone.
    expect(await w.rt.until(reconcile(w.deps))).toEqual({
      checked: 1,
      resumed: 0,
      recovered: 0,
      soaksJudged: 0,
      // While a wait is pending, each release function gets a warm-up (keep-warm.ts), and so do
      // those of a release's first second that are no steps of a wait (start-release, acquire-lock).
      warmed: new Set([...keptWarmFunctions(), ...startChainFunctions]).size,
    });
    const stored = w.rt.account.rds.snapshots.get(snapshot.snapshotId);
    if (stored) stored.status = 'available';
    expect(await w.rt.until(reconcile(w.deps))).toEqual({
      checked: 1,
      resumed: 1,
      recovered: 0,
      soaksJudged: 0,
      // A tick that resumed a wait sends none: the steps after it run on the last tick's warm ones.
      warmed: 0,
    });
    // No release waits: only the functions of a release's first second are kept warm, every fourth
    // minute. This tick is at one (the world starts at 09:00); a minute on, none are sent.
    expect(Math.round(Date.now() / 60_000) % 4).toBe(0);
    expect(await w.rt.until(reconcile(w.deps))).toEqual({
      checked: 0,
      resumed: 0,
      recovered: 0,
      soaksJudged: 0,
      warmed: startChainFunctions.length,
    });
    await w.rt.wait(60);
    expect((await w.rt.until(reconcile(w.deps))).warmed).toBe(0);
  });

  it('fails a snapshot wait when the snapshot failed', async () => {
    const plan = await planned();
    const snapshot = await w.rt.until(
      backupDatabase({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps),
    );
    w.rt.account.rds.failSnapshot(snapshot.snapshotId);
    const out = await w.rt.until(
      registerWait(
        {
          kind: 'snapshot-available',
          releaseId: 'checkout-api-v2',
          target: 'checkout-api',
          taskToken: 'tok',
          snapshot,
        },
        w.deps,
      ),
    );
    expect(out.state).toBe('failed');
    const phase = (await w.deps.store.getRelease('checkout-api-v2'))?.phases.find(
      (p) => p.name === 'WaitForSnapshot',
    );
    expect(phase).toMatchObject({
      status: 'failed',
      detail: 'snapshot switchyard-checkout-api-v2 is failed',
    });
  });
});

describe('check-health', () => {
  const deployed = async () => {
    const plan = await planned();
    await w.rt.until(deploy({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps));
    return plan;
  };

  it('passes when every green target is healthy and probes meet the thresholds', async () => {
    const plan = await deployed();
    await w.rt.wait(180);
    const out = await w.rt.until(
      checkHealth({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps),
    );
    expect(out.healthyTargets).toBe(4);
    expect(out.probes).toMatchObject({ count: 20, errorRate: 0 });
    expect(out.probes?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
  });

  it('is pending (TargetsNotRegistered, retried) while green’s tasks are not yet registered, naming the count', async () => {
    const plan = await deployed();
    // ECS registers a task in the target group once it runs: until then the group has none of the
    // four, and none failing. It used to fail here (HealthCheckFailed), which a rollback right after
    // a scale-down reached once its steps ran warm: the service read stable on its draining tasks.
    await expect(
      w.rt.until(checkHealth({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps)),
    ).rejects.toMatchObject({
      name: 'TargetsNotRegistered',
      message: 'green: 0/4 targets registered; ECS is still registering the others',
    });
  });

  it('a release’s new colour waits for the target’s alarms to be quiet; a rollback’s plan is not judged by them (they measure the version it removes)', async () => {
    const plan = await deployed();
    await w.rt.wait(180);
    w.rt.account.cloudwatch.addAlarm('checkout-5xx');
    w.rt.account.cloudwatch.setState('checkout-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [50]');
    const alarmed = {
      ...w.deps,
      targets: {
        ...w.deps.targets,
        targets: w.deps.targets.targets.map((t) => ({ ...t, alarms: ['checkout-5xx'] })),
      },
    };
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api' };
    await expect(w.rt.until(checkHealth({ ...input, plan }, alarmed))).rejects.toMatchObject({
      name: 'HealthCheckFailed',
      message: expect.stringContaining('before any traffic moved: alarm "checkout-5xx" is in ALARM'),
    });
    const out = await w.rt.until(
      checkHealth({ ...input, plan: { ...plan, alarmsJudgeNewColour: false } }, alarmed),
    );
    expect(out.healthyTargets).toBe(4);
  });

  it('fails when probes exceed the error-rate threshold', async () => {
    const plan = await deployed();
    await w.rt.wait(180);
    const deps = { ...w.deps, probe: async () => ({ status: 502, ms: 3 }) };
    await expect(
      w.rt.until(checkHealth({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, deps)),
    ).rejects.toMatchObject({
      name: 'HealthCheckFailed',
      message: expect.stringContaining('error rate 100.0% (max 1%)'),
    });
  });
});

describe('traffic steps', () => {
  it('shift-traffic moves all weight to green and verifies it', async () => {
    const plan = await planned();
    const out = await w.rt.until(
      shiftTraffic({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 }, w.deps),
    );
    expect(out).toMatchObject({ frozen: false, percent: 100, last: true, next: 1, bakeSeconds: 1200 });
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 0, green: 100 });
  });

  it('shift-traffic holds inside a freeze window, and moves with break-glass, recording who and why', async () => {
    const plan = await planned();
    // Monday 2026-01-05 09:00 UTC is 10:00 in Berlin: inside a 09:00-12:00 window.
    const frozenTargets = {
      targets: w.deps.targets.targets.map((t) => ({
        ...t,
        freezeWindows: [
          { name: 'audit', timeZone: 'Europe/Berlin', days: ['mon' as const], start: '09:00', end: '12:00' },
        ],
      })),
    };
    const deps = { ...w.deps, targets: frozenTargets };
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    const held = await w.rt.until(shiftTraffic(input, deps));
    expect(held).toMatchObject({
      frozen: true,
      next: 0,
      window: 'audit',
      until: '2026-01-05T11:00:00.000Z',
      waitSeconds: 2 * 3600,
    });
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 100, green: 0 });

    const breakGlass = { reason: 'hotfix for incident 4711', by: 'alice@example.com' };
    const moved = await w.rt.until(shiftTraffic({ ...input, plan: { ...plan, breakGlass } }, deps));
    expect(moved).toMatchObject({ frozen: false, percent: 100 });
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 0, green: 100 });
    const phases = (await w.deps.store.getRelease('checkout-api-v2'))?.phases ?? [];
    expect(phases.find((p) => p.name === 'BreakGlass')?.detail).toBe(
      'step 1 moved traffic inside freeze window "audit": hotfix for incident 4711 (by alice@example.com)',
    );
  });

  it('shift-traffic undoes a change a rollback request overtook, and then moves nothing', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    // The request lands while the weights are being set: the change must not outlive it.
    const racing = {
      ...w.deps,
      elbv2: {
        send: async (command: { constructor: { name: string } }) => {
          const out = await (w.deps.elbv2.send as (c: unknown) => Promise<unknown>)(command);
          if (command.constructor.name === 'ModifyRuleCommand' && !racedOnce) {
            racedOnce = true;
            await w.deps.store.updateRelease('checkout-api-v2', { abortRequestedBy: 'rb-1' });
          }
          return out;
        },
      },
    } as unknown as typeof w.deps;
    let racedOnce = false;
    await expect(w.rt.until(shiftTraffic(input, racing))).rejects.toMatchObject({
      name: 'RollbackRequested',
      message: expect.stringContaining('all traffic put back on blue'),
    });
    expect(racedOnce).toBe(true);
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 100, green: 0 });

    // Asked again (a retry), it refuses before touching the weights.
    const modifiesBefore = w.rt.account.calls.get('ELBv2.ModifyRule') ?? 0;
    await expect(w.rt.until(shiftTraffic(input, w.deps))).rejects.toMatchObject({
      name: 'RollbackRequested',
    });
    expect(w.rt.account.calls.get('ELBv2.ModifyRule') ?? 0).toBe(modifiesBefore);
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 100, green: 0 });
  });

  it('shift-traffic refuses a later step while a watched alarm is in ALARM', async () => {
    const plan = await planned();
    const alarmed = {
      targets: w.deps.targets.targets.map((t) => ({ ...t, alarms: ['checkout-5xx'] })),
    };
    w.rt.account.cloudwatch.addAlarm('checkout-5xx');
    w.rt.account.cloudwatch.setState('checkout-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [7]');
    const canary = {
      ...plan,
      steps: [
        { percent: 10, bakeSeconds: 60 },
        { percent: 100, bakeSeconds: 60 },
      ],
    };
    await expect(
      w.rt.until(
        shiftTraffic(
          { releaseId: 'checkout-api-v2', target: 'checkout-api', plan: canary, step: 1 },
          {
            ...w.deps,
            targets: alarmed,
          },
        ),
      ),
    ).rejects.toMatchObject({ name: 'AlarmTriggered', message: expect.stringContaining('checkout-5xx') });
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 100, green: 0 });
  });

  it('scale-down-old-colour refuses while the old colour has weight, then scales it to 0', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    await expect(w.rt.until(scaleDown(input, w.deps))).rejects.toMatchObject({ name: 'TrafficSplit' });
    await w.rt.until(shiftTraffic(input, w.deps));
    await w.rt.until(scaleDown(input, w.deps));
    await w.rt.wait(60);
    expect(runningTasks(w.rt, w.checkout).blue).toBe(0);
  });

  it('scale-down-old-colour refuses while a watched alarm is in ALARM: the warm bake did not pass', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    await w.rt.until(shiftTraffic(input, w.deps));
    w.rt.account.cloudwatch.addAlarm('checkout-5xx');
    w.rt.account.cloudwatch.setState('checkout-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [7]');
    const alarmed = {
      ...w.deps,
      targets: {
        ...w.deps.targets,
        targets: w.deps.targets.targets.map((t) => ({ ...t, alarms: ['checkout-5xx'] })),
      },
    };
    await expect(w.rt.until(scaleDown(input, alarmed))).rejects.toMatchObject({
      name: 'AlarmTriggered',
      message: expect.stringContaining('after the warm bake, before scaling blue down: alarm "checkout-5xx"'),
    });
    await w.rt.wait(60);
    expect(runningTasks(w.rt, w.checkout).blue).toBe(4);
    // A rollback's scale-down of the version it removed is not held up by the alarms it set off.
    await w.rt.until(scaleDown({ ...input, plan: { ...plan, alarmsJudgeNewColour: false } }, alarmed));
    await w.rt.wait(60);
    expect(runningTasks(w.rt, w.checkout).blue).toBe(0);
  });

  it('clean-up skips without a plan and refuses to scale down a colour with traffic', async () => {
    expect(
      await w.rt.until(cleanUp({ releaseId: 'checkout-api-v2', target: 'checkout-api' }, w.deps)),
    ).toEqual({ skipped: 'no plan: nothing was deployed' });
    const plan = await planned();
    await w.rt.until(
      shiftTraffic({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 }, w.deps),
    );
    await expect(
      w.rt.until(cleanUp({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps)),
    ).rejects.toMatchObject({ name: 'TrafficSplit' });
  });

  it('roll-back-traffic puts all weight back on the warm old colour and scales the new one down', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    await w.rt.until(deploy(input, w.deps));
    await w.rt.until(shiftTraffic(input, w.deps));
    const out = await w.rt.until(rollBack(input, w.deps));
    expect(out.weights).toEqual({ blue: 100, green: 0 });
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 100, green: 0 });
    expect(
      w.rt.account.ecs.DescribeServices({ cluster: 'prod', services: ['checkout-api-green'] }).services[0]
        ?.desiredCount,
    ).toBe(0);
  });

  it('roll-back-traffic finds the weights already back (a failed bake did it), writes nothing, keeps that time', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    await w.rt.until(deploy(input, w.deps));
    await w.rt.until(shiftTraffic(input, w.deps));
    await w.rt.until(setWeights(w.deps.elbv2, w.checkout.traffic, allTo('blue')));
    await w.deps.store.updateRelease('checkout-api-v2', { trafficRestoredAt: '2026-01-05T09:03:00.000Z' });
    const writes = () => w.rt.account.callLog.filter((c) => c.call === 'ELBv2.ModifyRule').length;
    const before = writes();
    const out = await w.rt.until(rollBack(input, w.deps));
    expect(writes()).toBe(before);
    expect(out.summary).toBe(
      'all traffic back on blue, verified at 2026-01-05T09:03:00.000Z; checkout-api-green scaled to 0',
    );
    expect(
      w.rt.account.ecs.DescribeServices({ cluster: 'prod', services: ['checkout-api-green'] }).services[0]
        ?.desiredCount,
    ).toBe(0);
  });

  it('a late roll-back-traffic or clean-up of a release that already has its outcome scales nothing: the target may be the next release’s (found by review)', async () => {
    const plan = await planned();
    const input = { releaseId: 'checkout-api-v2', target: 'checkout-api', plan, step: 0 };
    await w.rt.until(deploy(input, w.deps));
    // Its recovery recorded the outcome and handed the target on; the next release runs green now.
    await w.deps.store.updateRelease('checkout-api-v2', { outcome: 'Aborted', status: 'Aborted' });
    const green = () =>
      w.rt.account.ecs.DescribeServices({ cluster: 'prod', services: ['checkout-api-green'] }).services[0]
        ?.desiredCount;
    const before = green();
    expect(before).toBeGreaterThan(0);
    expect(await w.rt.until(cleanUp(input, w.deps))).toEqual({ skipped: ENDED });
    await w.rt.until(rollBack(input, w.deps));
    expect(green()).toBe(before);
  });

  it('the recovery’s Recovering mark is never written over an outcome (a twin recovery just recorded it; found by review)', async () => {
    await started();
    await w.deps.store.updateRelease('checkout-api-v2', { outcome: 'RolledBack', status: 'RolledBack' });
    expect(
      await w.deps.store.updateRelease(
        'checkout-api-v2',
        { status: 'Recovering', recoveringSince: '2026-01-05T09:05:00.000Z' },
        { unlessSet: ['recoveringSince', 'outcome'] },
      ),
    ).toBe(false);
    expect((await w.deps.store.getRelease('checkout-api-v2'))?.status).toBe('RolledBack');
  });

  it('roll-back-traffic fails loudly when the old colour has no running tasks', async () => {
    const plan = await planned();
    w.rt.account.ecs.UpdateService({ cluster: 'prod', service: 'checkout-api-blue', desiredCount: 0 });
    await w.rt.wait(60);
    await expect(
      w.rt.until(rollBack({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps)),
    ).rejects.toMatchObject({
      name: 'RollbackFailed',
      message: 'traffic is back on blue, but checkout-api-blue has no running tasks',
    });
    // Traffic still on green: the error (which the outcome's notice carries) says what undoes it.
    setWeightsByHand(w, { blue: 0, green: 100 });
    await expect(
      w.rt.until(rollBack({ releaseId: 'checkout-api-v2', target: 'checkout-api', plan }, w.deps)),
    ).rejects.toMatchObject({
      name: 'RollbackFailed',
      message:
        'blue (checkout-api-blue) has no running tasks; traffic cannot go back to it. Once it runs again, `switchyard rollback --target checkout-api` puts the traffic on green back on it',
    });
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 0, green: 100 });
  });
});

describe('closing steps', () => {
  it('record-outcome writes the outcome and the error that caused it', async () => {
    await started();
    await w.rt.until(
      recordOutcome(
        {
          releaseId: 'checkout-api-v2',
          target: 'checkout-api',
          outcome: 'Aborted',
          error: { Error: 'HealthCheckFailed', Cause: 'green has 2/4 healthy targets' },
        },
        w.deps,
      ),
    );
    expect(await w.deps.store.getRelease('checkout-api-v2')).toMatchObject({
      status: 'Aborted',
      outcome: 'Aborted',
      error: { Error: 'HealthCheckFailed', Cause: 'green has 2/4 healthy targets' },
    });
  });

  it('release-lock is a no-op for a non-holder, and frees the lock when the queued release is gone', async () => {
    await started('rel-a', '2026-01-05T09:00:00Z');
    await w.rt.until(
      acquireLock(
        {
          ...asRelease,
          releaseId: 'rel-b',
          target: 'checkout-api',
          image: v2(),
          trigger: trigger('2026-01-05T09:01:00Z'),
          executionArn: 'arn:b',
          taskToken: 't-b',
        },
        w.deps,
      ),
    );
    expect(await w.rt.until(releaseLock({ releaseId: 'rel-b', target: 'checkout-api' }, w.deps))).toEqual({
      released: false,
      reason: 'held by rel-a',
    });
    // rel-b's token is not a live execution here, so the hand-over frees the lock on its behalf.
    // (Hand-over that resumes a live queued release is covered end to end in test/local.)
    expect(await w.rt.until(releaseLock({ releaseId: 'rel-a', target: 'checkout-api' }, w.deps))).toEqual({
      released: true,
    });
    expect(await w.deps.store.getLock('checkout-api')).toBeUndefined();
  });

  it('taking over the expired lock of a gone owner supersedes the older release queued behind it, which never runs', async () => {
    // rel-a's execution ARN is unknown to Step Functions: its owner is gone. rel-b queued behind it.
    await started('rel-a', '2026-01-05T09:00:00Z');
    const queue = (releaseId: string, at: string) =>
      acquireLock(
        {
          ...asRelease,
          releaseId,
          target: 'checkout-api',
          image: v2(),
          trigger: trigger(at),
          executionArn: `arn:${releaseId}`,
          taskToken: `t-${releaseId}`,
        },
        w.deps,
      );
    expect(await w.rt.until(queue('rel-b', '2026-01-05T09:01:00Z'))).toMatchObject({ state: 'queued' });
    await w.rt.wait(24 * 3600 + 60);
    const failuresBefore = w.rt.account.calls.get('SFN.SendTaskFailure') ?? 0;
    expect(await w.rt.until(queue('rel-c', '2026-01-05T09:02:00Z'))).toEqual({ state: 'acquired' });
    const lock = await w.deps.store.getLock('checkout-api');
    expect(lock).toMatchObject({ owner: 'rel-c' });
    // Before: the queue entry stayed, and rel-c's ReleaseLock later handed the lock to the older rel-b.
    expect(lock?.queued).toBeUndefined();
    expect(lock?.displaced).toBeUndefined();
    expect(w.rt.account.calls.get('SFN.SendTaskFailure') ?? 0).toBe(failuresBefore + 1);
    expect(await w.rt.until(releaseLock({ releaseId: 'rel-c', target: 'checkout-api' }, w.deps))).toEqual({
      released: true,
    });
  });

  it('notify publishes the outcome with the snapshot a restore would use', async () => {
    await started();
    await w.deps.store.updateRelease('checkout-api-v2', { snapshotId: 'switchyard-checkout-api-v2' });
    await w.rt.until(
      notify({ releaseId: 'checkout-api-v2', target: 'checkout-api', outcome: 'Promoted' }, w.deps),
    );
    const [message] = w.rt.account.sns.published;
    expect(message?.subject).toBe('[switchyard] checkout-api (prod) v2: Promoted');
    expect(message?.message).toContain('Database snapshot: switchyard-checkout-api-v2');
    expect(message?.attributes.event).toBe('Promoted');
  });
});

describe('start-release', () => {
  const event = (detail: Record<string, string>) => ({
    id: 'ev-1',
    source: 'aws.ecr' as const,
    'detail-type': 'ECR Image Action' as const,
    time: '2026-01-05T09:00:00Z',
    detail: {
      'action-type': 'PUSH',
      result: 'SUCCESS',
      'repository-name': 'checkout-api',
      'image-digest': `sha256:${'a'.repeat(64)}`,
      'image-tag': 'v2',
      ...detail,
    },
  });
  const deps = () => ({
    sfn: w.deps.sfn,
    store: w.deps.store,
    targets: w.deps.targets,
    stateMachineArn: w.rt.releaseStateMachineArn,
    lambda: w.deps.lambda,
    warmUpFunctions: w.deps.warmUpFunctions,
    now: w.deps.now,
  });

  it('starts one execution named after target and digest, and a redelivery starts nothing new', async () => {
    const out = await w.rt.until(startRelease(event({}), deps()));
    expect(out.started).toEqual([
      {
        target: 'checkout-api',
        releaseId: 'checkout-api-aaaaaaaaaaaa',
        executionArn: expect.stringContaining(':execution:switchyard-release:checkout-api-aaaaaaaaaaaa'),
      },
    ]);
    expect(releaseIdFor('checkout-api', `sha256:${'a'.repeat(64)}`)).toBe('checkout-api-aaaaaaaaaaaa');
    const again = await w.rt.until(startRelease({ ...event({}), id: 'ev-2' }, deps()));
    expect(again).toEqual({
      started: [],
      duplicates: [
        {
          target: 'checkout-api',
          releaseId: 'checkout-api-aaaaaaaaaaaa',
          reason: 'checkout-api-aaaaaaaaaaaa is releasing this image now',
        },
      ],
      ignored: undefined,
    });
    expect(w.rt.executions()).toHaveLength(1);
  });

  it('ignores pushes no target releases, saying why', async () => {
    expect((await w.rt.until(startRelease(event({ 'image-tag': 'latest' }), deps()))).ignored).toBe(
      'no target releases checkout-api:latest (no repository and tag pattern match)',
    );
    expect((await w.rt.until(startRelease(event({ 'repository-name': 'unknown' }), deps()))).ignored).toMatch(
      /no target releases unknown:v2/,
    );
    expect((await w.rt.until(startRelease(event({ 'action-type': 'DELETE' }), deps()))).ignored).toMatch(
      /not a successful push/,
    );
    expect(w.rt.executions()).toHaveLength(0);
  });
});
