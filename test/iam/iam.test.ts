/**
 * The IAM check itself: the calls a release and a rollback make in the local runtime, evaluated
 * against the roles of the stack synthesized from the same targets file (test/support/iam-check.ts).
 * The global teardown (test/support/iam-summary.ts) runs the same check over every run of the suite.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizationsOf } from '../../local/iam/authorization.ts';
import { IamRecorder, type RecordedAuthorization } from '../../local/iam/recorder.ts';
import { runRelease, scenarios } from '../../local/scenarios.ts';
import {
  checkCalls,
  checkDeliveries,
  describeDenial,
  policiesOf,
  type StackPolicies,
  type Statement,
  synthStack,
} from '../support/iam-check.ts';

const targetsFile = fileURLToPath(new URL('../../local/targets.json', import.meta.url));
const env = { region: 'us-east-1', account: '123456789012' };

let policies: StackPolicies;
const records: RecordedAuthorization[] = [];

/** The stack's policies with `action` taken out of `folder`'s role (a grant someone removed). */
const without = (folder: string, action: string): StackPolicies => {
  const roles = new Map(policies.roles);
  roles.set(
    folder,
    (roles.get(folder) ?? []).map((doc) => ({
      ...doc,
      Statement: doc.Statement.map(
        (s): Statement => ({
          ...s,
          Action: (Array.isArray(s.Action) ? s.Action : [s.Action ?? '']).filter((a) => a !== action),
        }),
      ).filter((s) => (s.Action as string[]).length > 0),
    })),
  );
  return { ...policies, roles };
};

beforeAll(async () => {
  policies = policiesOf(synthStack(targetsFile));
  // A release with a database (snapshot and its wait), and an ops rollback on each path.
  for (const name of ['happy', 'ops-rollback-fast', 'ops-rollback-slow'] as const) {
    await runRelease(name, scenarios[name], { targetsFile }, (runtime) =>
      records.push(...runtime.account.iam.entries()),
    );
  }
}, 120_000);

describe('IAM check', () => {
  it('allows every call of a release and of both rollback paths, PlanRollback included', async () => {
    const report = await checkCalls(policies, records);
    expect(report.denials.map(describeDenial)).toEqual([]);
    expect(report.allowed).toBe(report.calls);
    const planRollback = records.filter((r) => r.by === 'plan-rollback').map((r) => r.action);
    expect(planRollback).toEqual(
      expect.arrayContaining(['ecs:DescribeServices', 'elasticloadbalancing:DescribeRules']),
    );
  });

  it('fails, naming function, action, resource and grant, when one grant is removed from the stack', async () => {
    const report = await checkCalls(without('plan-rollback', 'ecs:DescribeServices'), records);
    const messages = report.denials.map(describeDenial);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages[0]).toMatch(
      /^plan-rollback calls ecs:DescribeServices on arn:aws:ecs:us-east-1:123456789012:service\/prod\/checkout-api-(blue|green) \(\d+ calls?\): ImplicitlyDenied: the role has no statement allowing ecs:DescribeServices$/,
    );
  });

  it('authorizes the task-token calls against "*", as the Service Authorization Reference lists no resource for them', async () => {
    expect(authorizationsOf('SFN', 'SendTaskSuccess', { taskToken: 't', output: '{}' }, env)).toEqual([
      { action: 'states:SendTaskSuccess', resource: '*' },
    ]);
    const scoped = new Map(policies.roles);
    scoped.set('wait-resume', [
      {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['states:SendTaskSuccess'],
            Resource: ['arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release'],
          },
        ],
      },
    ]);
    const report = await checkCalls({ ...policies, roles: scoped }, [
      { by: 'wait-resume', action: 'states:SendTaskSuccess', resource: '*', calls: 1 },
    ]);
    expect(report.denials).toHaveLength(1);
  });

  it("lets the announcing functions put only Switchyard's own events on its own bus", async () => {
    const put = (source: string, bus = 'switchyard-releases') =>
      authorizationsOf(
        'EventBridge',
        'PutEvents',
        {
          Entries: [
            {
              EventBusName: bus,
              Source: source,
              DetailType: 'Switchyard Release State Change',
              Detail: '{}',
            },
          ],
        },
        env,
      ).map((r) => ({ ...r, by: 'notify', calls: 1 }));
    expect((await checkCalls(policies, put('switchyard'))).denials).toEqual([]);
    expect((await checkCalls(policies, put('aws.ecr'))).denials).toHaveLength(1);
    expect((await checkCalls(policies, put('switchyard', 'default'))).denials).toHaveLength(1);
  });

  it("authorizes a batched snapshot read (Filters, no identifier) against '*', which the waits' roles allow", async () => {
    const requests = authorizationsOf(
      'RDS',
      'DescribeDBSnapshots',
      { Filters: [{ Name: 'db-snapshot-id', Values: ['switchyard-a', 'switchyard-b'] }] },
      env,
    );
    expect(requests).toEqual([{ action: 'rds:DescribeDBSnapshots', resource: '*' }]);
    const report = await checkCalls(
      policies,
      requests.map((r) => ({ ...r, by: 'reconciler', calls: 1 })),
    );
    expect(report.denials).toEqual([]);
  });

  it('lets CloudWatch use the alarm topic key and publish to the topic, and EventBridge dead-letter events', async () => {
    expect((await checkDeliveries(policies)).map(describeDenial)).toEqual([]);
    const kinds = new Set(policies.deliveries.map((d) => `${d.principal} ${d.action}`));
    expect(kinds).toEqual(
      new Set([
        'cloudwatch.amazonaws.com sns:Publish',
        'cloudwatch.amazonaws.com kms:GenerateDataKey',
        'cloudwatch.amazonaws.com kms:Decrypt',
        'events.amazonaws.com sqs:SendMessage',
        ...[...kinds].filter((k) => k.startsWith('role:')),
      ]),
    );
  });

  it('denies CloudWatch the key when its key-policy statement is missing (the stack as it was)', async () => {
    const keys = new Map(policies.resourcePolicies);
    for (const [arn, doc] of keys) {
      if (!arn.includes(':kms:')) continue;
      keys.set(arn, {
        ...doc,
        Statement: doc.Statement.filter((s) => JSON.stringify(s.Principal ?? '').includes(':root')),
      });
    }
    const denials = await checkDeliveries({ ...policies, resourcePolicies: keys });
    expect(denials.map((d) => d.action)).toContain('kms:GenerateDataKey');
  });

  it('keeps the internet-facing approval and Slack functions off the Locks and Waits tables', async () => {
    const asks = ['approvals', 'slack-interactions', 'slack-decisions'].flatMap((by) =>
      ['switchyard-locks', 'switchyard-waits'].flatMap((table) =>
        ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'].map((action) => ({
          by,
          action,
          resource: `arn:aws:dynamodb:us-east-1:123456789012:table/${table}`,
          calls: 1,
        })),
      ),
    );
    const report = await checkCalls(policies, asks);
    expect(report.denials).toHaveLength(asks.length);
    // What they do use stays allowed: their approval record and the release's audit trail.
    const own = await checkCalls(policies, [
      {
        by: 'approvals',
        action: 'dynamodb:UpdateItem',
        resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/switchyard-approvals',
        calls: 1,
      },
      {
        by: 'slack-decisions',
        action: 'dynamodb:UpdateItem',
        resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/switchyard-releases',
        calls: 1,
      },
    ]);
    expect(own.denials).toEqual([]);
    // The function that answers Slack reads no table at all: it checks the signature and hands over.
    const ack = await checkCalls(
      policies,
      ['switchyard-approvals', 'switchyard-releases'].map((table) => ({
        by: 'slack-interactions',
        action: 'dynamodb:GetItem',
        resource: `arn:aws:dynamodb:us-east-1:123456789012:table/${table}`,
        calls: 1,
      })),
    );
    expect(ack.denials).toHaveLength(2);
  });

  it('lets the deploy step pass only the task and execution roles the targets configure', async () => {
    const context = { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' };
    const pass = (resource: string) => ({
      by: 'deploy-inactive-colour',
      action: 'iam:PassRole',
      resource,
      calls: 1,
      context,
    });
    const report = await checkCalls(policies, [
      pass('arn:aws:iam::123456789012:role/checkout-api-task'),
      pass('arn:aws:iam::123456789012:role/checkout-api-execution'),
      pass('arn:aws:iam::123456789012:role/Admin'),
    ]);
    expect(report.denials.map((d) => d.resource)).toEqual(['arn:aws:iam::123456789012:role/Admin']);
    // A release's deploy really passes them: the demo's task definitions name both roles.
    expect(records.filter((r) => r.action === 'iam:PassRole').map((r) => r.resource)).toEqual(
      expect.arrayContaining(['arn:aws:iam::123456789012:role/checkout-api-task']),
    );
  });

  it('reports an operation it cannot describe instead of passing it', async () => {
    const recorder = new IamRecorder(env);
    recorder.record('validate', 'ECS', 'DeleteCluster', { cluster: 'prod' });
    const [entry] = recorder.entries();
    expect(entry?.problem).toMatch(/ecs:DeleteCluster: say which request field names its resource/);
    const report = await checkCalls(policies, recorder.entries());
    expect(report.denials.map(describeDenial)).toEqual([expect.stringContaining('ecs:DeleteCluster')]);
  });
});
