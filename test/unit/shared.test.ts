import type { Service } from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stabilityOn } from '../../functions/shared/ecs.ts';
import { classifyError, Throttled, TrafficSplit, TransientError } from '../../functions/shared/errors.ts';
import { executionArnOf, stateMachineOf } from '../../functions/shared/executions.ts';
import { percentile } from '../../functions/shared/probe.ts';
import { liveColour, percentages, readWeights, setWeights } from '../../functions/shared/traffic.ts';

const ruleArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/a/1/2/3';
const blue = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1';
const green = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2';
const traffic = {
  listenerRuleArn: ruleArn,
  targetGroups: { blue, green },
  strategy: { type: 'all-at-once' as const },
};
const rule = (b: number, g: number) => ({
  Rules: [
    {
      RuleArn: ruleArn,
      Actions: [
        {
          Type: 'forward' as const,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: blue, Weight: b },
              { TargetGroupArn: green, Weight: g },
            ],
          },
        },
      ],
    },
  ],
});

describe('traffic', () => {
  const elbv2 = mockClient(ElasticLoadBalancingV2Client);
  beforeEach(() => elbv2.reset());

  it('reads each colour weight from the forward action', async () => {
    elbv2.on(DescribeRulesCommand).resolves(rule(100, 0));
    const { weights } = await readWeights(new ElasticLoadBalancingV2Client({}), traffic);
    expect(weights).toEqual({ blue: 100, green: 0 });
    expect(liveColour(weights, ruleArn)).toBe('blue');
  });

  it('refuses a split that is not 100/0', () => {
    expect(() => liveColour({ blue: 50, green: 50 }, ruleArn)).toThrow(TrafficSplit);
    expect(() => liveColour({ blue: 0, green: 0 }, ruleArn)).toThrow(/one colour at 100% and the other at 0/);
  });

  it('refuses a rule that forwards to a third target group', async () => {
    elbv2.on(DescribeRulesCommand).resolves({
      Rules: [
        {
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: 'arn:other', Weight: 5 },
                  { TargetGroupArn: blue, Weight: 1 },
                ],
              },
            },
          ],
        },
      ],
    });
    await expect(readWeights(new ElasticLoadBalancingV2Client({}), traffic)).rejects.toThrow(
      /arn:other, which is neither/,
    );
  });

  it('sends both target groups in one ModifyRule and verifies the read-back', async () => {
    elbv2.on(DescribeRulesCommand).resolvesOnce(rule(100, 0)).resolves(rule(0, 100));
    const { weights, actions } = await setWeights(new ElasticLoadBalancingV2Client({}), traffic, {
      blue: 0,
      green: 100,
    });
    expect(weights).toEqual({ blue: 0, green: 100 });
    expect(actions).toEqual(rule(0, 100).Rules[0]?.Actions);
    expect(elbv2).toHaveReceivedCommandTimes(DescribeRulesCommand, 2);
    expect(elbv2).toHaveReceivedCommandWith(ModifyRuleCommand, {
      RuleArn: ruleArn,
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: blue, Weight: 0 },
              { TargetGroupArn: green, Weight: 100 },
            ],
          },
        },
      ],
    });
  });

  it('with the actions already known, writes them without reading first, keeping the other actions', async () => {
    const auth = {
      Type: 'authenticate-cognito' as const,
      Order: 1,
      AuthenticateCognitoConfig: {
        UserPoolArn: 'arn:pool',
        UserPoolClientId: 'client',
        UserPoolDomain: 'auth',
      },
    };
    const known = [auth, { ...rule(0, 100).Rules[0]?.Actions[0], Type: 'forward' as const, Order: 2 }];
    elbv2.on(DescribeRulesCommand).resolves({
      Rules: [{ RuleArn: ruleArn, Actions: [auth, ...(rule(100, 0).Rules[0]?.Actions ?? [])] }],
    });
    const { weights } = await setWeights(
      new ElasticLoadBalancingV2Client({}),
      traffic,
      { blue: 100, green: 0 },
      { actions: known },
    );
    expect(weights).toEqual({ blue: 100, green: 0 });
    // Only the read-back: the known actions stood in for the read before the write.
    expect(elbv2).toHaveReceivedCommandTimes(DescribeRulesCommand, 1);
    expect(elbv2).toHaveReceivedCommandWith(ModifyRuleCommand, {
      Actions: [
        auth,
        {
          Type: 'forward',
          Order: 2,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: blue, Weight: 100 },
              { TargetGroupArn: green, Weight: 0 },
            ],
          },
        },
      ],
    });
  });

  it('throws WeightsNotApplied when the read-back still shows the old weights', async () => {
    elbv2.on(DescribeRulesCommand).resolves(rule(100, 0));
    await expect(
      setWeights(new ElasticLoadBalancingV2Client({}), traffic, { blue: 0, green: 100 }),
    ).rejects.toMatchObject({
      name: 'WeightsNotApplied',
      message: 'asked for blue=0 green=100, read back blue=100 green=0',
    });
  });

  it('turns ALB weights into percentages', () => {
    expect(percentages({ blue: 1, green: 3 })).toEqual({ blue: 25, green: 75 });
    expect(percentages({ blue: 0, green: 0 })).toEqual({ blue: 0, green: 0 });
  });
});

describe('stabilityOn', () => {
  const td = 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:7';
  const service = (deployments: NonNullable<Service['deployments']>): Service => ({ deployments });

  it('is stable only with one PRIMARY deployment on the task definition, COMPLETED, all tasks running', () => {
    expect(
      stabilityOn(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: td,
            rolloutState: 'COMPLETED',
            runningCount: 4,
            desiredCount: 4,
          },
        ]),
        { taskDefinitionArn: td },
      ),
    ).toEqual({ state: 'stable' });
  });

  it('is pending while the rollout is in progress or old tasks remain', () => {
    expect(
      stabilityOn(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: td,
            rolloutState: 'IN_PROGRESS',
            runningCount: 2,
            desiredCount: 4,
          },
        ]),
        { taskDefinitionArn: td },
      ).state,
    ).toBe('pending');
    expect(
      stabilityOn(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: td,
            rolloutState: 'COMPLETED',
            runningCount: 4,
            desiredCount: 4,
          },
          { status: 'ACTIVE', taskDefinition: 'old', runningCount: 1, desiredCount: 0 },
        ]),
        { taskDefinitionArn: td },
      ).state,
    ).toBe('pending');
  });

  it('fails when the rollout FAILED or the service settled on another task definition (circuit-breaker rollback)', () => {
    expect(
      stabilityOn(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: td,
            rolloutState: 'FAILED',
            rolloutStateReason: 'circuit breaker',
          },
        ]),
        { taskDefinitionArn: td },
      ),
    ).toEqual({ state: 'failed', detail: 'circuit breaker' });
    expect(
      stabilityOn(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: 'old',
            rolloutState: 'COMPLETED',
            runningCount: 4,
            desiredCount: 4,
          },
        ]),
        { taskDefinitionArn: td },
      ).state,
    ).toBe('failed');
  });

  it('reads a PRIMARY on another task definition, without the deployment the update started, as ECS not showing it yet for a minute', () => {
    const updatedAt = Date.parse('2026-12-04T10:00:00Z');
    const expected = { taskDefinitionArn: td, deploymentId: 'ecs-svc/new' };
    const before = service([
      {
        id: 'ecs-svc/old',
        status: 'PRIMARY',
        taskDefinition: 'old',
        rolloutState: 'COMPLETED',
        runningCount: 4,
        desiredCount: 4,
      },
    ]);
    expect(stabilityOn(before, expected, { at: updatedAt, now: updatedAt + 500 })).toEqual({
      state: 'pending',
      detail: `PRIMARY deployment runs old, not ${td}: ECS may not show the update yet`,
    });
    expect(stabilityOn(before, expected, { at: updatedAt, now: updatedAt + 60_000 }).state).toBe('failed');
    // Without the started deployment's id (a step that only scales) nothing tells a stale read apart.
    expect(
      stabilityOn(before, { taskDefinitionArn: td }, { at: updatedAt, now: updatedAt + 500 }).state,
    ).toBe('failed');
    // Listed, but another deployment took its place: replaced, failed at once.
    const replaced = service([
      { id: 'ecs-svc/other', status: 'PRIMARY', taskDefinition: 'other', rolloutState: 'IN_PROGRESS' },
      { id: 'ecs-svc/new', status: 'ACTIVE', taskDefinition: td, rolloutState: 'IN_PROGRESS' },
    ]);
    expect(stabilityOn(replaced, expected, { at: updatedAt, now: updatedAt + 500 }).state).toBe('failed');
    // An older deployment on the same revision and count, COMPLETED: not the one the update started.
    const older = service([
      {
        id: 'ecs-svc/old',
        status: 'PRIMARY',
        taskDefinition: td,
        rolloutState: 'COMPLETED',
        runningCount: 4,
        desiredCount: 4,
      },
    ]);
    expect(stabilityOn(older, expected, { at: updatedAt, now: updatedAt + 500 }).state).toBe('pending');
  });

  it('is pending while ECS still shows another desired count than the deploy set (a scale-up starts no deployment)', () => {
    const atZero = service([
      { status: 'PRIMARY', taskDefinition: td, rolloutState: 'COMPLETED', runningCount: 0, desiredCount: 0 },
    ]);
    expect(stabilityOn(atZero, { taskDefinitionArn: td, desiredCount: 4 })).toEqual({
      state: 'pending',
      detail: 'desired count 0, not yet 4',
    });
    expect(stabilityOn(atZero, { taskDefinitionArn: td, desiredCount: 0 })).toEqual({ state: 'stable' });
    // A minute after the change, another count is the service's own: judged as it is (not waited for
    // until the wait's timeout), but 0 where tasks were asked for fails.
    const at = Date.parse('2026-12-04T10:00:00Z');
    const four = { taskDefinitionArn: td, desiredCount: 4 };
    expect(stabilityOn(atZero, four, { at, now: at + 1_000 }).state).toBe('pending');
    expect(stabilityOn(atZero, four, { at, now: at + 60_000 })).toEqual({
      state: 'failed',
      detail: 'desired count 0, not the 4 the step set',
    });
    const atSix = service([
      { status: 'PRIMARY', taskDefinition: td, rolloutState: 'COMPLETED', runningCount: 6, desiredCount: 6 },
    ]);
    expect(stabilityOn(atSix, four, { at, now: at + 60_000 })).toEqual({ state: 'stable' });
  });
});

describe('classifyError', () => {
  it('maps throttling to Throttled (retried far longer), server faults to TransientError, and keeps client errors', () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    const server = Object.assign(new Error('boom'), { name: 'InternalFailure', $fault: 'server' });
    const client = Object.assign(new Error('bad'), { name: 'ValidationException', $fault: 'client' });
    expect(classifyError(throttled)).toBeInstanceOf(Throttled);
    // DynamoDB's own throttling name, and a throttling error the SDK marks retryable.
    expect(
      classifyError(Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' })),
    ).toBeInstanceOf(Throttled);
    expect(
      classifyError(Object.assign(new Error('x'), { name: 'InternalFailure', $fault: 'server' })),
    ).toBeInstanceOf(TransientError);
    expect((classifyError(server) as Error).message).toBe('InternalFailure: boom');
    expect(classifyError(client)).toBe(client);
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([], 95)).toBe(0);
  });
});

describe('stateMachineOf', () => {
  const machine = 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release';
  it("is executionArnOf's inverse, and knows no state machine of an ARN that is not a standard execution's", () => {
    expect(stateMachineOf(executionArnOf(machine, 'checkout-api-0123456789ab'))).toBe(machine);
    // An Express execution's ARN has one more part; the reconciler then describes its owner.
    expect(
      stateMachineOf('arn:aws:states:us-east-1:123456789012:express:switchyard-release:a:b'),
    ).toBeUndefined();
    expect(stateMachineOf('not-an-arn')).toBeUndefined();
  });
});
