/**
 * Every step's real handler against moto (an AWS emulator nobody here wrote), with the AWS SDK's
 * real transport: the world is built with the SDK, both state machines are created from the ASL
 * files, and each handler is invoked as Lambda would, asserting that its calls succeed and return
 * what Switchyard relies on.
 *
 * Where moto is known to differ from AWS, the test says so and what the AWS documentation says:
 * - ECS: moto runs no tasks and UpdateService starts no new deployment (AWS, UpdateService: "a new
 *   deployment is triggered" when the task definition changes); so no service becomes stable and
 *   no target turns healthy, and CheckHealth's verdict is "0 healthy".
 * - Step Functions: moto does not run Lambda tasks or issue task tokens, so SendTaskSuccess with a
 *   token answers an error (AWS: TaskDoesNotExist/InvalidToken for an unknown token).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateDBInstanceCommand, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { CreateStateMachineCommand, DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { snapshotIdFor } from '../../functions/backup-database/run.ts';
import { releaseIdFor, releaseRequest } from '../../functions/shared/requests.ts';
import { resetTables } from '../../local/dynamo.ts';
import { TABLES } from '../../local/runtime.ts';
import {
  type FunctionFolder,
  releaseDefinitionText,
  releaseFunctions,
  rollbackDefinitionText,
  rollbackFunctions,
  substitute,
} from '../../state-machines/definitions.ts';

const region = 'us-east-1';
const tables = TABLES;
const fnArn = (folder: string) => `arn:aws:lambda:${region}:123456789012:function:switchyard-${folder}`;
const context = (folder: string) =>
  ({
    functionName: `switchyard-${folder}`,
    awsRequestId: `conformance-${folder}`,
    getRemainingTimeInMillis: () => 60_000,
  }) as unknown as Context;

/** One EC2 Query API call to moto (which does not check signatures), answering its XML. */
const ec2Query = async (action: string, params: Record<string, string>) => {
  const response = await fetch(`${process.env.AWS_ENDPOINT_URL}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=conformance/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }),
  });
  if (!response.ok) throw new Error(`EC2 ${action} answered ${response.status}`);
  return response.text();
};

type Handler = (event: unknown, context: Context) => Promise<unknown>;
const handler = async (folder: FunctionFolder): Promise<Handler> =>
  ((await import(`../../functions/${folder}/handler.ts`)) as { handler: Handler }).handler;

const world = {
  digest: '',
  ruleArn: '',
  blue: '',
  green: '',
  releaseArn: '',
};
let releaseId = '';
let plan: Record<string, unknown>;
let elbv2: ElasticLoadBalancingV2Client;
let ecs: ECSClient;

beforeAll(async () => {
  const ecr = new ECRClient({});
  ecs = new ECSClient({});
  elbv2 = new ElasticLoadBalancingV2Client({});
  const rds = new RDSClient({});
  const sns = new SNSClient({});
  const cloudwatch = new CloudWatchClient({});
  const sfn = new SFNClient({});

  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'checkout-api' }));
  const manifest = (tag: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: tag.length,
        digest: `sha256:${tag.repeat(64).slice(0, 64)}`,
      },
      layers: [],
    });
  await ecr.send(
    new PutImageCommand({ repositoryName: 'checkout-api', imageManifest: manifest('1'), imageTag: 'v1' }),
  );
  const pushed = await ecr.send(
    new PutImageCommand({ repositoryName: 'checkout-api', imageManifest: manifest('2'), imageTag: 'v2' }),
  );
  world.digest = pushed.image?.imageId?.imageDigest ?? '';
  releaseId = releaseIdFor('checkout-api', world.digest);

  // The default VPC's subnets, read with one EC2 query call (no EC2 client needed for one call).
  const subnetsXml = await ec2Query('DescribeSubnets', {
    'Filter.1.Name': 'default-for-az',
    'Filter.1.Value.1': 'true',
  });
  const subnets = [...subnetsXml.matchAll(/<subnetId>([^<]+)<\/subnetId>/g)]
    .map((m) => m[1] as string)
    .slice(0, 2);
  const vpc = subnetsXml.match(/<vpcId>([^<]+)<\/vpcId>/)?.[1];
  const lb = (await elbv2.send(new CreateLoadBalancerCommand({ Name: 'prod-alb', Subnets: subnets })))
    .LoadBalancers?.[0]?.LoadBalancerArn;
  for (const colour of ['blue', 'green'] as const) {
    world[colour] = (
      await elbv2.send(
        new CreateTargetGroupCommand({
          Name: `checkout-${colour}`,
          Protocol: 'HTTP',
          Port: 8080,
          VpcId: vpc,
          TargetType: 'ip',
        }),
      )
    ).TargetGroups?.[0]?.TargetGroupArn as string;
  }
  const listener = (
    await elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      }),
    )
  ).Listeners?.[0]?.ListenerArn;
  world.ruleArn = (
    await elbv2.send(
      new CreateRuleCommand({
        ListenerArn: listener,
        Priority: 10,
        Conditions: [{ Field: 'path-pattern', Values: ['/*'] }],
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: world.blue, Weight: 100 },
                { TargetGroupArn: world.green, Weight: 0 },
              ],
            },
          },
        ],
      }),
    )
  ).Rules?.[0]?.RuleArn as string;

  await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  const image = `123456789012.dkr.ecr.${region}.amazonaws.com/checkout-api@sha256:${'1'.repeat(64)}`;
  const td = (
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'checkout-api',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        containerDefinitions: [
          { name: 'app', image, essential: true, portMappings: [{ containerPort: 8080 }] },
        ],
      }),
    )
  ).taskDefinition?.taskDefinitionArn;
  for (const colour of ['blue', 'green'] as const) {
    await ecs.send(
      new CreateServiceCommand({
        cluster: 'prod',
        serviceName: `checkout-api-${colour}`,
        taskDefinition: td,
        desiredCount: colour === 'blue' ? 2 : 0,
        loadBalancers: [{ targetGroupArn: world[colour], containerName: 'app', containerPort: 8080 }],
      }),
    );
  }
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: 'checkout-db',
      DBInstanceClass: 'db.t3.micro',
      Engine: 'postgres',
      MasterUsername: 'app',
      MasterUserPassword: 'conformance-only',
      AllocatedStorage: 20,
    }),
  );
  const topic = (await sns.send(new CreateTopicCommand({ Name: 'releases' }))).TopicArn as string;
  // The approval emails' sender, verified as an operator verifies it in SES.
  await new SESv2Client({}).send(new CreateEmailIdentityCommand({ EmailIdentity: 'switchyard@example.com' }));
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: 'checkout-5xx',
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HTTPCode_Target_5XX_Count',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
  await resetTables(new DynamoDBClient({}), tables);

  // Both state machines, from the ASL files with their placeholders substituted: moto parses them.
  const role = 'arn:aws:iam::123456789012:role/switchyard-state-machine';
  const arns = (table: Record<string, string>) =>
    Object.fromEntries(Object.entries(table).map(([key, folder]) => [key, fnArn(folder)]));
  for (const [name, text, table] of [
    ['switchyard-release', releaseDefinitionText(), releaseFunctions],
    ['switchyard-rollback', rollbackDefinitionText(), rollbackFunctions],
  ] as const) {
    const created = await sfn.send(
      new CreateStateMachineCommand({ name, roleArn: role, definition: substitute(text, arns(table)) }),
    );
    if (name === 'switchyard-release') world.releaseArn = created.stateMachineArn as string;
    const described = await sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }),
    );
    expect(JSON.parse(described.definition ?? '{}').StartAt).toBe('AcquireLock');
  }

  const targetsFile = join(tmpdir(), `switchyard-conformance-${process.pid}.json`);
  writeFileSync(
    targetsFile,
    JSON.stringify({
      targets: [
        {
          name: 'checkout-api',
          environment: 'prod',
          image: { repository: 'checkout-api', tagPattern: 'v\\d+' },
          ecs: {
            cluster: 'prod',
            services: { blue: 'checkout-api-blue', green: 'checkout-api-green' },
            container: 'app',
          },
          traffic: { listenerRuleArn: world.ruleArn, targetGroups: { blue: world.blue, green: world.green } },
          database: { kind: 'instance', identifier: 'checkout-db' },
          alarms: ['checkout-5xx'],
          bakeMinutes: 1,
          notify: { sns: topic },
          approval: {
            required: true,
            emailFrom: 'switchyard@example.com',
            approvers: [{ id: 'alice@example.com' }, { id: 'bob@example.com' }],
          },
        },
      ],
    }),
  );
  Object.assign(process.env, {
    SWITCHYARD_TARGETS_FILE: targetsFile,
    LOCKS_TABLE: tables.locks,
    RELEASES_TABLE: tables.releases,
    WAITS_TABLE: tables.waits,
    APPROVALS_TABLE: tables.approvals,
    RELEASE_STATE_MACHINE_ARN: world.releaseArn,
    APPROVAL_KEY_SECRET: 'switchyard/approval-signing-key',
    APPROVAL_BASE_URL: 'https://approvals.example.com',
  });
  await new SecretsManagerClient({}).send(
    new CreateSecretCommand({
      Name: 'switchyard/approval-signing-key',
      SecretString: 'conformance-signing-key-0123456789',
    }),
  );
});

/** The test's own ModifyRule (the whole forward action), outside any Switchyard step. */
const setWeightsByHand = (blue: number, green: number) =>
  elbv2.send(
    new ModifyRuleCommand({
      RuleArn: world.ruleArn,
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: world.blue, Weight: blue },
              { TargetGroupArn: world.green, Weight: green },
            ],
          },
        },
      ],
    }),
  );

/** Switchyard's store over the tables in moto, imported only once the environment is set. */
const switchyardStore = async () => {
  const { createStore } = await import('../../functions/shared/store.ts');
  const { doc } = await import('../../functions/shared/clients/dynamodb.ts');
  return createStore(doc, tables);
};

const weights = async () => {
  const rule = (await elbv2.send(new DescribeRulesCommand({ RuleArns: [world.ruleArn] }))).Rules?.[0];
  const groups = rule?.Actions?.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(
    groups.map((g) => [g.TargetGroupArn === world.blue ? 'blue' : 'green', g.Weight]),
  );
};

describe('step handlers against moto', () => {
  it('start-release starts an execution of the state machine moto created from the ASL file', async () => {
    const start = await handler('start-release');
    const out = (await start(
      {
        version: '0',
        id: 'conformance',
        'detail-type': 'ECR Image Action',
        source: 'aws.ecr',
        account: '123456789012',
        time: new Date().toISOString(),
        region,
        resources: [],
        detail: {
          result: 'SUCCESS',
          'repository-name': 'checkout-api',
          'image-digest': world.digest,
          'action-type': 'PUSH',
          'image-tag': 'v2',
        },
      },
      context('start-release'),
    )) as { started: { executionArn: string }[] };
    expect(JSON.stringify(out)).toContain(':execution:switchyard-release:checkout-api-');
  });

  it("acquire-lock takes the lock and creates the release record (the task-token answer is moto's error, see above)", async () => {
    const acquire = await handler('acquire-lock');
    const request = releaseRequest({
      target: 'checkout-api',
      image: { repository: 'checkout-api', tag: 'v2', digest: world.digest },
      at: new Date(),
      trigger: { source: 'manual', by: 'conformance' },
    });
    // moto issues no task tokens: resuming this one answers an error, which acquire-lock takes as
    // "the task is already closed" (as AWS answers for a token it does not know), not a failure.
    await acquire(
      {
        ...request.input,
        executionArn: `${world.releaseArn.replace(':stateMachine:', ':execution:')}:${releaseId}`,
        taskToken: 'a-token-moto-never-issued',
      },
      context('acquire-lock'),
    );
    const store = await switchyardStore();
    expect((await store.getLock('checkout-api'))?.owner).toContain(releaseId);
    expect((await store.getRelease(releaseId))?.target).toBe('checkout-api');
  });

  it('validate reads weights, services, the task definition, the image and the alarm, and plans green', async () => {
    plan = (await (
      await handler('validate')
    )(
      {
        releaseId,
        target: 'checkout-api',
        image: { repository: 'checkout-api', tag: 'v2', digest: world.digest },
      },
      context('validate'),
    )) as Record<string, unknown>;
    expect(plan).toMatchObject({ fromColour: 'blue', toColour: 'green', desiredCount: 2, hasDatabase: true });
  });

  it('backup-database creates a tagged snapshot, and the batched read (Filters) finds it available', async () => {
    const out = (await (
      await handler('backup-database')
    )({ releaseId, target: 'checkout-api', plan }, context('backup-database'))) as {
      snapshotId: string;
    };
    const rds = new RDSClient({});
    const found = await rds.send(
      new DescribeDBSnapshotsCommand({ Filters: [{ Name: 'db-snapshot-id', Values: [out.snapshotId] }] }),
    );
    expect(found.DBSnapshots?.[0]?.Status).toBe('available');
  });

  it("register-revision registers the release's revision before a deploy (preDeploy hooks run it), once", async () => {
    const register = await handler('register-revision');
    const first = (await register(
      { releaseId, target: 'checkout-api', plan },
      context('register-revision'),
    )) as {
      taskDefinitionArn: string;
    };
    expect(first.taskDefinitionArn).toMatch(/task-definition\/checkout-api:2$/);
    const described = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: first.taskDefinitionArn, include: ['TAGS'] }),
    );
    expect(described.tags).toContainEqual({ key: 'switchyard:release', value: releaseId });
    // A retry answers the recorded revision and registers nothing more.
    const again = (await register(
      { releaseId, target: 'checkout-api', plan },
      context('register-revision'),
    )) as {
      taskDefinitionArn: string;
    };
    expect(again.taskDefinitionArn).toBe(first.taskDefinitionArn);
  });

  it('deploy-inactive-colour rolls out the revision the release recorded (registered once) and points green at it', async () => {
    const out = (await (
      await handler('deploy-inactive-colour')
    )({ releaseId, target: 'checkout-api', plan }, context('deploy-inactive-colour'))) as {
      taskDefinitionArn: string;
    };
    // As in a release with preDeploy hooks: RegisterRevision (above) registered it, the deploy registers nothing.
    expect(out.taskDefinitionArn).toMatch(/task-definition\/checkout-api:2$/);
    const revisions = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'checkout-api' }));
    expect(revisions.taskDefinitionArns?.map((a) => a.split(':').at(-1))).toEqual(['1', '2']);
    const green = (
      await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['checkout-api-green'] }))
    ).services?.[0];
    expect(green?.taskDefinition).toBe(out.taskDefinitionArn);
    // moto gap: no new deployment is started (AWS UpdateService starts one when the task definition changes).
  });

  it('register-wait stores the service-stable wait and checks it once against ECS', async () => {
    const out = (await (
      await handler('register-wait')
    )(
      {
        releaseId,
        target: 'checkout-api',
        kind: 'service-stable',
        deployment: {
          cluster: 'prod',
          service: 'checkout-api-green',
          taskDefinitionArn: `${plan.fromTaskDefinitionArn}`,
        },
        graceSeconds: 0,
        taskToken: 'a-token-moto-never-issued',
      },
      context('register-wait'),
    )) as { waitId: string; state: string };
    expect(out.waitId).toBe(`${releaseId}#service-stable`);
    // moto gap: its deployments do not follow AWS (UpdateService with a new revision leaves the
    // old one PRIMARY and COMPLETED, and no task runs), so the verdict here says nothing about
    // AWS; what must hold is that the wait was stored and checked without an error.
    expect(['pending', 'done', 'failed']).toContain(out.state);
    // Stored in DynamoDB under the service it waits for, with this release and its status.
    const { doc } = await import('../../functions/shared/clients/dynamodb.ts');
    const stored = await doc.send(
      new GetCommand({
        TableName: tables.waits,
        Key: { resourceKey: 'ecs-service#prod/checkout-api-green', waitId: out.waitId },
        ConsistentRead: true,
      }),
    );
    expect(stored.Item).toMatchObject({
      releaseId,
      kind: 'service-stable',
      taskToken: 'a-token-moto-never-issued',
    });
    expect(stored.Item?.status).toBe(out.state === 'pending' ? 'PENDING' : 'RESUMED');
  });

  it('the reconciler re-checks every pending wait with batched Describe calls and keeps going', async () => {
    const pending = (await (await switchyardStore()).allPendingWaits()).length;
    const out = (await (
      await handler('reconciler')
    )({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context('reconciler'))) as {
      checked: number;
      recovered: number;
    };
    expect(out.checked).toBe(pending);
    // The lock's owner is an execution moto knows and reports RUNNING: nothing to recover.
    expect(out.recovered).toBe(0);
  });

  it('wait-resume takes an ECS deployment event for green and re-checks the waits it names', async () => {
    const out = (await (
      await handler('wait-resume')
    )(
      {
        version: '0',
        id: 'conformance-ecs',
        'detail-type': 'ECS Deployment State Change',
        source: 'aws.ecs',
        account: '123456789012',
        time: new Date().toISOString(),
        region,
        resources: [`arn:aws:ecs:${region}:123456789012:service/prod/checkout-api-green`],
        detail: { eventType: 'INFO', eventName: 'SERVICE_DEPLOYMENT_COMPLETED', deploymentId: 'ecs-svc/1' },
      },
      context('wait-resume'),
    )) as { resourceKeys: string[] };
    expect(out.resourceKeys.join(' ')).toContain('checkout-api-green');
  });

  it('request-approval stores one approval and mails each approver their signed links through SES', async () => {
    const out = (await (
      await handler('request-approval')
    )(
      { releaseId, target: 'checkout-api', plan, taskToken: 'a-token-moto-never-issued' },
      context('request-approval'),
    )) as { approvalId: string; channels: string[] };
    expect(out.approvalId).toBeTruthy();
    expect(out.channels).toEqual(['email (2)']);
  });

  it('check-health judges green by its target group: in moto no task runs, so none of 2 is registered, and no task of it stopped', async () => {
    // Fewer targets than tasks, none failing: its stopped tasks are read (DescribeServices, ListTasks
    // against moto), none exited on its own, so it is pending (TargetsNotRegistered, retried).
    await expect(
      (await handler('check-health'))({ releaseId, target: 'checkout-api', plan }, context('check-health')),
    ).rejects.toMatchObject({
      name: 'TargetsNotRegistered',
      message: 'green: 0/2 targets registered; ECS is still registering the others',
    });
  });

  it('shift-traffic sets 10% on green and reads it back; roll-back-traffic refuses a colour with no running tasks', async () => {
    const canary = {
      ...plan,
      steps: [
        { percent: 10, bakeSeconds: 60 },
        { percent: 100, bakeSeconds: 60 },
      ],
    };
    await (await handler('shift-traffic'))(
      { releaseId, target: 'checkout-api', plan: canary, step: 0 },
      context('shift-traffic'),
    );
    expect(await weights()).toEqual({ blue: 90, green: 10 });
    // moto gap: blue's two tasks never run (AWS runs them), so the rollback's guard refuses to send
    // traffic to a colour with nothing running, and says so.
    await expect(
      (await handler('roll-back-traffic'))(
        {
          releaseId,
          target: 'checkout-api',
          plan: canary,
          error: { Error: 'AlarmTriggered', Cause: 'conformance' },
        },
        context('roll-back-traffic'),
      ),
    ).rejects.toMatchObject({
      name: 'RollbackFailed',
      message: expect.stringContaining('has no running tasks'),
    });
    // Back to 100/0 by hand for the steps that follow (ModifyRule with the whole forward action).
    await setWeightsByHand(100, 0);
    expect(await weights()).toEqual({ blue: 100, green: 0 });
  });

  it('clean-up-inactive-colour scales green back to 0', async () => {
    await (await handler('clean-up-inactive-colour'))(
      {
        releaseId,
        target: 'checkout-api',
        plan,
        error: { Error: 'HealthCheckFailed', Cause: 'conformance' },
      },
      context('clean-up-inactive-colour'),
    );
    const green = (
      await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['checkout-api-green'] }))
    ).services?.[0];
    expect(green?.desiredCount).toBe(0);
  });

  it('scale-down-old-colour reads the alarm, the weights and the record, then scales the old colour to 0', async () => {
    await setWeightsByHand(0, 100);
    // This release was just cleaned up (halted): its old colour stays warm.
    await expect(
      (await handler('scale-down-old-colour'))(
        { releaseId, target: 'checkout-api', plan },
        context('scale-down-old-colour'),
      ),
    ).rejects.toMatchObject({ name: 'RollbackRequested' });
    // A release that was not halted scales it down, and marks its record (promoted).
    const store = await switchyardStore();
    await store.createRelease({
      releaseId: `${releaseId}-promoted`,
      target: 'checkout-api',
      environment: 'prod',
      trigger: { source: 'manual', by: 'ops@example.com', at: '2026-12-04T10:00:00Z' },
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:switchyard-release:promoted',
    });
    await (await handler('scale-down-old-colour'))(
      { releaseId: `${releaseId}-promoted`, target: 'checkout-api', plan },
      context('scale-down-old-colour'),
    );
    const blue = (
      await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['checkout-api-blue'] }))
    ).services?.[0];
    expect(blue?.desiredCount).toBe(0);
    expect((await store.getRelease(`${releaseId}-promoted`))?.oldColourScaledDownAt).toBeDefined();
  });

  it("prune-snapshots reads the database's manual snapshots with their tags and keeps the ones a rollback plan names", async () => {
    const out = (await (
      await handler('prune-snapshots')
    )({ releaseId, target: 'checkout-api', plan }, context('prune-snapshots'))) as {
      kept: string[];
      deleted: string[];
    };
    // Its own snapshot (tagged for this target) is found and kept: it is the one a rollback plan names.
    expect(out.kept).toEqual([snapshotIdFor(releaseId)]);
    expect(out.deleted).toEqual([]);
  });

  it('plan-rollback reads the live colour and the history, and finds nothing promoted to roll back to', async () => {
    await expect(
      (await handler('plan-rollback'))({ releaseId, target: 'checkout-api' }, context('plan-rollback')),
    ).rejects.toMatchObject({ name: 'NothingToRollBack' });
  });

  it('record-outcome, release-lock and notify end the release: outcome recorded, lock free, SNS published', async () => {
    const state = {
      releaseId,
      target: 'checkout-api',
      plan,
      outcome: 'Aborted',
      error: { Error: 'HealthCheckFailed', Cause: '0/2 healthy' },
    };
    await (await handler('record-outcome'))(state, context('record-outcome'));
    await (await handler('release-lock'))(state, context('release-lock'));
    await (await handler('notify'))(state, context('notify'));
    const store = await switchyardStore();
    expect((await store.getRelease(releaseId))?.outcome).toBe('Aborted');
    expect(await store.getLock('checkout-api')).toBeUndefined();
  });
});
