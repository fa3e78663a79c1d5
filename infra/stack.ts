import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArnFormat,
  type CfnElement,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Stage,
  Token,
  Validations,
} from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import {
  AttributeType,
  BillingMode,
  Table,
  TableEncryption,
  type TableProps,
} from 'aws-cdk-lib/aws-dynamodb';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { EventBus, type EventPattern, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { snapshotIdFor } from '../functions/backup-database/run.ts';
import { checksAt, When } from '../functions/shared/analysis/config.ts';
import { type TargetsFile, validatedTargetsDocument } from '../functions/shared/config.ts';
import {
  alarmStatePattern,
  ecrPushPattern,
  ecrPutImageCloudTrailPattern,
  ecsDeploymentPattern,
  executionEndedPattern,
  hookTaskStoppedPattern,
  rdsSnapshotPattern,
  releaseRequestedPattern,
  type EventPattern as SharedPattern,
  serviceTaskStoppedPattern,
  soakCompletedPattern,
} from '../functions/shared/event-patterns.ts';
import { RELEASE_STATE_CHANGE, SWITCHYARD_SOURCE } from '../functions/shared/events.ts';
import { allHooks } from '../functions/shared/hooks.ts';
import { attachmentOf, networkFunctions } from '../functions/shared/network.ts';
import { type TableSchema, tableSchemas } from '../functions/shared/store.ts';
import {
  allFunctionFolders,
  asyncFunctions,
  asyncInvokeConfig,
  eventFunctions,
  type FunctionFolder,
  functionTimeoutSeconds,
  httpFunctions,
  keptWarmFunctions,
  releaseDefinitionPath,
  releaseFunctions,
  rollbackDefinitionPath,
  rollbackFunctions,
  startChainFunctions,
  warmAlwaysList,
  warmUpList,
} from '../state-machines/definitions.ts';
import { ApprovalApi } from './constructs/approval-api.ts';
import { AslStateMachine } from './constructs/asl-state-machine.ts';
import { ReleaseFunction } from './constructs/release-function.ts';
import { type TableName, tableAccess } from './table-access.ts';

export interface SwitchyardStackProps extends StackProps {
  /** The validated targets; every function bundles them (`validatedTargetsDocument`). */
  targets: TargetsFile;
}

/** The shared pattern objects use EventBridge's JSON keys; CDK's EventPattern uses camelCase. */
const cdkPattern = (p: SharedPattern): EventPattern => ({
  source: p.source as string[],
  detailType: p['detail-type'] as string[],
  detail: p.detail as Record<string, unknown>,
});

/** Timeout per function; steps that probe or page through AWS get more than the default. */
/**
 * Switchyard for the configured targets: the release state machine, one Lambda per step, the
 * EventBridge rules and schedule, DynamoDB tables, notifications, least-privilege IAM scoped to the
 * targets' resources, and alarms and a dashboard on Switchyard itself.
 */
/** The functions that announce release states on Switchyard's bus (events.ts). */
const releaseEventPublishers = [
  'validate',
  'register-wait',
  'shift-traffic',
  'notify',
  'recover-execution',
  'reconciler',
  'request-approval',
  // ApprovalDecided, from the functions that take decisions from email and Slack.
  'approvals',
  'slack-decisions',
] as const satisfies readonly FunctionFolder[];

export class SwitchyardStack extends Stack {
  readonly functions: Record<FunctionFolder, ReleaseFunction>;
  readonly stateMachine: AslStateMachine;
  readonly rollbackStateMachine: AslStateMachine;
  readonly approvalApi: ApprovalApi;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    const { targets } = props.targets;
    const arn = (
      service: string,
      resource: string,
      resourceName: string,
      sep = ArnFormat.SLASH_RESOURCE_NAME,
    ) => this.formatArn({ service, resource, resourceName, arnFormat: sep });

    // --- data --------------------------------------------------------------------------------
    const tableProps = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    };
    const table = (id: string, schema: TableSchema, extra: Partial<TableProps> = {}) => {
      const t = new Table(this, id, {
        ...tableProps,
        ...extra,
        partitionKey: { name: schema.partitionKey, type: AttributeType.STRING },
        sortKey: schema.sortKey ? { name: schema.sortKey, type: AttributeType.STRING } : undefined,
        timeToLiveAttribute: schema.ttl,
      });
      if (schema.index) {
        t.addGlobalSecondaryIndex({
          indexName: schema.index.name,
          partitionKey: { name: schema.index.partitionKey, type: AttributeType.STRING },
          sortKey: { name: schema.index.sortKey, type: AttributeType.STRING },
        });
      }
      return t;
    };
    const locks = table('Locks', tableSchemas.locks);
    // The audit trail outlives the stack.
    const releases = table('Releases', tableSchemas.releases, { removalPolicy: RemovalPolicy.RETAIN });
    const waits = table('Waits', tableSchemas.waits);
    // Approvals hold task tokens: encrypted like the rest, and gone by TTL a month after the deadline.
    const approvals = table('ApprovalsTable', tableSchemas.approvals);

    // --- functions ---------------------------------------------------------------------------
    const stateMachineName = `${this.stackName}-release`;
    const stateMachineArn = arn('states', 'stateMachine', stateMachineName, ArnFormat.COLON_RESOURCE_NAME);
    const rollbackName = `${this.stackName}-rollback`;
    const rollbackArn = arn('states', 'stateMachine', rollbackName, ArnFormat.COLON_RESOURCE_NAME);
    // Switchyard's own events (functions/shared/events.ts): a bus of its own, so a rule on it sees
    // only Switchyard's events and PutEvents is granted on this bus alone.
    const releaseEventsBusName = `${this.stackName}-releases`;
    const releaseBus = new EventBus(this, 'ReleaseEvents', { eventBusName: releaseEventsBusName });
    const environment = {
      LOCKS_TABLE: locks.tableName,
      RELEASES_TABLE: releases.tableName,
      WAITS_TABLE: waits.tableName,
      APPROVALS_TABLE: approvals.tableName,
      RELEASE_STATE_MACHINE_ARN: stateMachineArn,
      SWITCHYARD_EVENT_BUS: releaseEventsBusName,
    };
    // Events that could not be delivered (EventBridge) or failed every Lambda retry (async invokes).
    const deadLetters = new Queue(this, 'EventDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const folders = allFunctionFolders();
    // The functions that talk to the targets' own network (CheckHealth's probes) attach to it.
    const attachment = attachmentOf(props.targets);
    const network = attachment && {
      vpc: Vpc.fromVpcAttributes(this, 'TargetVpc', {
        vpcId: attachment.vpcId,
        availabilityZones: Fn.getAzs(),
      }),
      vpcSubnets: {
        subnets: attachment.subnets.map((id, i) => Subnet.fromSubnetId(this, `TargetSubnet${i}`, id)),
      },
      securityGroups: attachment.securityGroups.map((id, i) =>
        SecurityGroup.fromSecurityGroupId(this, `TargetSecurityGroup${i}`, id, { mutable: false }),
      ),
    };
    // Written once here, beside the templates: each function's cold start reads it as validated.
    const targetsFile = join(
      Stage.of(this)?.outdir ?? mkdtempSync(join(tmpdir(), 'switchyard-')),
      `${id}.targets.json`,
    );
    writeFileSync(targetsFile, validatedTargetsDocument(props.targets));
    // Lambda's asynchronous queue for each function: retries, dead letters and maximum age (definitions.ts).
    const asyncQueue = (folder: FunctionFolder) => {
      const queue = asyncInvokeConfig(folder);
      return {
        deadLetterQueue: queue.deadLetters ? deadLetters : undefined,
        maxEventAge: Duration.seconds(queue.maxEventAgeSeconds),
        retryAttempts: queue.retryAttempts,
      };
    };
    this.functions = Object.fromEntries(
      folders.map((folder) => [
        folder,
        new ReleaseFunction(this, pascal(folder), {
          folder,
          targetsFile,
          environment,
          timeout: Duration.seconds(functionTimeoutSeconds(folder)),
          ...asyncQueue(folder),
          network: network && networkFunctions.includes(folder) ? network : undefined,
        }),
      ]),
    ) as Record<FunctionFolder, ReleaseFunction>;
    // Each function gets exactly the table actions its code uses (infra/table-access.ts); only the
    // approval functions see approval records, and they see neither locks nor waits (task tokens).
    const tables = { locks, releases, waits, approvals };
    for (const folder of folders) {
      for (const [name, actions] of Object.entries(tableAccess[folder]) as [TableName, string[]][]) {
        const table = tables[name];
        const queriesIndex = actions.includes('Query') && tableSchemas[name].index;
        const resources = queriesIndex ? [table.tableArn, `${table.tableArn}/index/*`] : [table.tableArn];
        this.functions[folder].addToRolePolicy(
          new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources }),
        );
      }
    }
    this.grantAwsAccess(props.targets, stateMachineArn, rollbackArn);
    // The reconciler and start-release keep the release functions warm while releases run
    // (functions/shared/keep-warm.ts): an Invoke of each, unqualified, by name (the reconciler's
    // through Lambda's queue, start-release's synchronous).
    const keptWarmFolders = keptWarmFunctions();
    const keptWarm = keptWarmFolders.map((folder) => this.functions[folder]);
    const largestGroup = Math.max(0, ...targets.map((t) => t.group.length));
    for (const folder of ['reconciler', 'start-release'] as const) {
      this.functions[folder].addToRolePolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: keptWarm.map((fn) => fn.functionArn),
        }),
      );
      this.functions[folder].addEnvironment(
        'WARM_UP_FUNCTIONS',
        warmUpList(largestGroup, (f) => this.functions[f].functionName),
      );
    }
    // And between releases too, a release's first functions (keep-warm.ts): those not kept warm
    // above (start-release, which is no step, and acquire-lock) are granted here.
    this.functions.reconciler.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: startChainFunctions
          .filter((folder) => !keptWarmFolders.includes(folder))
          .map((folder) => this.functions[folder].functionArn),
      }),
    );
    this.functions.reconciler.addEnvironment(
      'WARM_ALWAYS_FUNCTIONS',
      warmAlwaysList(largestGroup, (f) => this.functions[f].functionName),
    );

    // --- state machine -----------------------------------------------------------------------
    this.stateMachine = new AslStateMachine(this, 'Release', {
      definitionFile: releaseDefinitionPath,
      stateMachineName,
      functions: Object.fromEntries(
        Object.entries(releaseFunctions).map(([key, folder]) => [key, this.functions[folder]]),
      ),
    });

    // Lambda hooks: the state machine invokes the users' functions itself, each exactly as named
    // (a name or name:alias resolves in this account and Region, as the Lambda integration does).
    const hookFunctions = [
      ...new Set(
        targets.flatMap((t) => allHooks(t.hooks)).flatMap((h) => (h.lambda ? [h.lambda.functionName] : [])),
      ),
    ];
    if (hookFunctions.length > 0)
      this.stateMachine.stateMachine.addToRolePolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: hookFunctions.map((f) =>
            f.startsWith('arn:') ? f : arn('lambda', 'function', f, ArnFormat.COLON_RESOURCE_NAME),
          ),
        }),
      );

    this.rollbackStateMachine = new AslStateMachine(this, 'Rollback', {
      definitionFile: rollbackDefinitionPath,
      stateMachineName: rollbackName,
      functions: Object.fromEntries(
        Object.entries(rollbackFunctions).map(([key, folder]) => [key, this.functions[folder]]),
      ),
    });

    this.approvalApi = this.approvalEndpoints();

    // What the `switchyard` CLI reads from its environment (export each output under its name).
    const outputs = {
      SWITCHYARD_RELEASE_STATE_MACHINE_ARN: this.stateMachine.stateMachine.stateMachineArn,
      SWITCHYARD_ROLLBACK_STATE_MACHINE_ARN: this.rollbackStateMachine.stateMachine.stateMachineArn,
      SWITCHYARD_LOCKS_TABLE: locks.tableName,
      SWITCHYARD_RELEASES_TABLE: releases.tableName,
      SWITCHYARD_WAITS_TABLE: waits.tableName,
      SWITCHYARD_APPROVALS_TABLE: approvals.tableName,
      SWITCHYARD_APPROVAL_API: this.approvalApi.baseUrl,
    };
    for (const [name, value] of Object.entries(outputs)) {
      new CfnOutput(this, name.replace(/_/g, ''), {
        key: name.replace(/_/g, ''),
        value,
        description: `export ${name}=<this value> for the switchyard CLI`,
      });
    }

    // --- events ------------------------------------------------------------------------------
    const target = (folder: FunctionFolder) =>
      new LambdaFunction(this.functions[folder], {
        deadLetterQueue: deadLetters,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      });
    new Rule(this, 'EcrPush', {
      description: 'ECR pushes to the configured repositories start releases',
      eventPattern: cdkPattern(ecrPushPattern([...new Set(targets.map((t) => t.image.repository))])),
      targets: [target('start-release')],
    });
    new Rule(this, 'EcrPushers', {
      description:
        "CloudTrail's PutImage records name who pushed (needs a trail recording management events)",
      eventPattern: cdkPattern(
        ecrPutImageCloudTrailPattern([...new Set(targets.map((t) => t.image.repository))]),
      ),
      targets: [target('record-pusher')],
    });
    new Rule(this, 'EcsDeployments', {
      description: "Deployment state changes of the targets' services resume waits",
      eventPattern: {
        ...cdkPattern(ecsDeploymentPattern),
        resources: targets.flatMap((t) =>
          [t.ecs.services, ...t.group.map((m) => m.services)]
            .flatMap((s) => [s.blue, s.green])
            .map((s) => arn('ecs', 'service', `${t.ecs.cluster}/${s}`)),
        ),
      },
      targets: [target('wait-resume')],
    });
    const withHooks = targets.filter((t) => allHooks(t.hooks).length > 0);
    if (withHooks.length > 0) {
      new Rule(this, 'HookTasksStopped', {
        description: "A hook's one-off task stopping resumes its wait",
        eventPattern: {
          ...cdkPattern(hookTaskStoppedPattern),
          detail: {
            ...(cdkPattern(hookTaskStoppedPattern).detail as object),
            clusterArn: [...new Set(withHooks.map((t) => arn('ecs', 'cluster', t.ecs.cluster)))],
          },
        },
        targets: [target('wait-resume')],
      });
    }
    const members = targets.flatMap((t) => t.group.flatMap((m) => [m.services.blue, m.services.green]));
    if (members.length > 0) {
      new Rule(this, 'GroupTasks', {
        description:
          "A group member's task stopping: a singleton's colour draining, or a member failing during a bake",
        eventPattern: {
          ...cdkPattern(serviceTaskStoppedPattern(members)),
          detail: {
            ...(cdkPattern(serviceTaskStoppedPattern(members)).detail as object),
            clusterArn: [
              ...new Set(
                targets.filter((t) => t.group.length).map((t) => arn('ecs', 'cluster', t.ecs.cluster)),
              ),
            ],
          },
        },
        targets: [target('wait-resume')],
      });
    }
    if (targets.some((t) => t.database)) {
      new Rule(this, 'RdsSnapshots', {
        description: 'Manual snapshot created events resume snapshot waits',
        eventPattern: cdkPattern(rdsSnapshotPattern),
        targets: [target('wait-resume')],
      });
    }
    const alarmNames = [...new Set(targets.flatMap((t) => t.alarms))];
    if (alarmNames.length > 0) {
      new Rule(this, 'AlarmStateChanges', {
        description: 'A watched alarm going to ALARM ends a bake at once (rollback)',
        eventPattern: cdkPattern(alarmStatePattern(alarmNames)),
        targets: [target('wait-resume')],
      });
    }
    new Rule(this, 'ExecutionEnded', {
      description: 'A release or rollback that ended without finishing (stopped, timed out) is recovered',
      eventPattern: cdkPattern(executionEndedPattern([stateMachineArn, rollbackArn])),
      targets: [target('recover-execution')],
    });
    // Switchyard's own bus: a soak completed upstream starts the downstream release (promotion), and
    // any CI may ask for a release with a `Switchyard Release Requested` event.
    if (targets.some((t) => t.promotesFrom?.automatic)) {
      new Rule(this, 'Promotions', {
        description: "An upstream release's soak completed: targets promoted from it automatically start",
        eventBus: releaseBus,
        eventPattern: cdkPattern(
          soakCompletedPattern([
            ...new Set(targets.flatMap((t) => (t.promotesFrom?.automatic ? [t.promotesFrom.target] : []))),
          ]),
        ),
        targets: [target('promote')],
      });
    }
    // The roles' own policies only limit those roles: anyone else granted PutEvents on the bus (a CI
    // requesting releases) could put events with Switchyard's source. The bus refuses them, so a
    // consumer of `source: switchyard` (promotion, a dashboard, an audit sink) may trust it.
    releaseBus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlySwitchyardPublishesAsSwitchyard',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [releaseBus.eventBusArn],
        conditions: {
          'ForAnyValue:StringEquals': { 'events:source': [SWITCHYARD_SOURCE] },
          ArnNotEquals: {
            'aws:PrincipalArn': releaseEventPublishers.map((f) => this.functions[f].role?.roleArn as string),
          },
        },
      }),
    );
    new Rule(this, 'ReleaseRequests', {
      description: 'A Switchyard Release Requested event (from any CI) starts a release',
      eventBus: releaseBus,
      eventPattern: cdkPattern(releaseRequestedPattern),
      targets: [target('request-release')],
    });
    new Rule(this, 'Reconcile', {
      description: 'Re-checks pending waits: ECS and RDS events are best effort',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [target('reconciler')],
    });

    this.monitoring(deadLetters);
    this.acknowledge(releases, props.targets);
    for (const folder of [...eventFunctions, ...asyncFunctions]) {
      Validations.of(this.functions[folder]).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Failed asynchronous invocations go to an on-failure destination (the dead-letter queue), which also records the error.',
      });
    }
    for (const folder of new Set([...Object.values(releaseFunctions), ...Object.values(rollbackFunctions)])) {
      Validations.of(this.functions[folder]).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by the state machine, which retries and catches its errors; its only asynchronous events are warm-ups (functions/shared/keep-warm.ts), worth nothing once failed or late.',
      });
    }
    for (const folder of allFunctionFolders().filter((f) => !asyncInvokeConfig(f).deadLetters)) {
      Validations.of(this.functions[folder]).acknowledge({
        id: 'Serverless-LambdaAsyncFailureDestination',
        reason:
          'Its only asynchronous events are warm-ups (functions/shared/keep-warm.ts): one that failed or is a minute old is dropped, and the next reconciler tick sends another.',
      });
    }
    for (const folder of httpFunctions) {
      Validations.of(this.functions[folder]).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by API Gateway, which returns its errors to the caller; a DLQ applies only to asynchronous invocations.',
      });
    }
  }

  /** IAM scoped to what each step touches, for the configured targets only. */
  private grantAwsAccess(targetsFile: TargetsFile, stateMachineArn: string, rollbackArn: string) {
    const { targets } = targetsFile;
    const f = this.functions;
    const arn = (service: string, resource: string, name: string, sep = ArnFormat.SLASH_RESOURCE_NAME) =>
      this.formatArn({ service, resource, resourceName: name, arnFormat: sep });
    const allow = (
      folders: FunctionFolder[],
      actions: string[],
      resources: string[],
      conditions?: Record<string, unknown>,
    ) => {
      for (const folder of folders) {
        f[folder].addToRolePolicy(
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions,
            resources: [...new Set(resources)],
            conditions,
          }),
        );
      }
    };
    const services = targets.flatMap((t) =>
      [t.ecs.services.blue, t.ecs.services.green].map((s) => arn('ecs', 'service', `${t.ecs.cluster}/${s}`)),
    );
    // Release groups (functions/shared/group.ts): the members' services, rules and repositories.
    const groupTargets = targets.filter((t) => t.group.length > 0);
    const memberServices = groupTargets.flatMap((t) =>
      t.group.flatMap((m) =>
        [m.services.blue, m.services.green].map((s) => arn('ecs', 'service', `${t.ecs.cluster}/${s}`)),
      ),
    );
    const repositories = targets.map((t) => arn('ecr', 'repository', t.image.repository));
    const trafficArns = targets.flatMap((t) => [
      (t.traffic.listenerRuleArn ?? t.traffic.listenerArn) as string,
      ...t.group.flatMap((m) =>
        m.traffic ? [(m.traffic.listenerRuleArn ?? m.traffic.listenerArn) as string] : [],
      ),
    ]);
    const testListeners = targets.flatMap((t) =>
      t.traffic.testListenerArn ? [t.traffic.testListenerArn] : [],
    );
    const instances = targets.flatMap((t) =>
      t.database?.kind === 'instance' ? [t.database.identifier] : [],
    );
    const clusters = targets.flatMap((t) => (t.database?.kind === 'cluster' ? [t.database.identifier] : []));
    // Snapshots Switchyard creates are named switchyard-<release id>, so the wildcard is ours alone.
    const ourSnapshot = snapshotIdFor('*').replace(/\*.*$/, '*');

    // Scoped to the configured alarms' ARNs, which limits DescribeAlarms to metric alarms
    // (composite alarms need the action on "*"); see functions/shared/alarms.ts.
    const alarms = [...new Set(targets.flatMap((t) => t.alarms))];
    if (alarms.length > 0) {
      allow(
        [
          'validate',
          'check-health',
          'shift-traffic',
          'register-wait',
          'wait-resume',
          'reconciler',
          'scale-down-old-colour',
        ],
        ['cloudwatch:DescribeAlarms'],
        alarms.map((name) => arn('cloudwatch', 'alarm', name, ArnFormat.COLON_RESOURCE_NAME)),
      );
    }

    // Analysis reads the ALB's per-target-group metrics (and the users' own): GetMetricData has no
    // resource-level permissions (acknowledged below). The reconciler's ticks judge each bake on the
    // way; AnalyseBake judges its whole window at its end; AnalyseTestTraffic the test listener's
    // traffic before any weight moves.
    if (targets.some((t) => checksAt(t.analysis, When.Bakes).length))
      allow(['reconciler', 'analyse-bake'], ['cloudwatch:GetMetricData'], ['*']);
    if (targets.some((t) => checksAt(t.analysis, When.TestTraffic).length))
      allow(['analyse-test-traffic'], ['cloudwatch:GetMetricData'], ['*']);
    // A bake extended for analysis (inconclusive: extend) is watched by AnalyseBake itself.
    const extended = targets.filter((t) =>
      checksAt(t.analysis, When.Bakes).some((c) => c.inconclusive === 'extend'),
    );
    if (extended.length > 0) {
      allow(['analyse-bake'], ['elasticloadbalancing:DescribeTargetHealth'], ['*']);
      const extendedAlarms = [...new Set(extended.flatMap((t) => t.alarms))];
      if (extendedAlarms.length > 0)
        allow(
          ['analyse-bake'],
          ['cloudwatch:DescribeAlarms'],
          extendedAlarms.map((name) => arn('cloudwatch', 'alarm', name, ArnFormat.COLON_RESOURCE_NAME)),
        );
    }
    // RequestApproval: the tags of the digest the live colour runs (the page shows what is replaced).
    // RequestRelease: the image a requested release names, by tag or digest.
    allow(['validate', 'request-approval', 'request-release'], ['ecr:DescribeImages'], repositories);
    // A soak is judged on the upstream's alarms' history (soak.ts).
    const soakAlarms = [
      ...new Set(
        targets
          .filter((t) => targets.some((d) => d.promotesFrom?.target === t.name))
          .flatMap((t) => t.alarms),
      ),
    ];
    if (soakAlarms.length > 0)
      allow(
        ['reconciler'],
        ['cloudwatch:DescribeAlarmHistory'],
        soakAlarms.map((name) => arn('cloudwatch', 'alarm', name, ArnFormat.COLON_RESOURCE_NAME)),
      );
    if (groupTargets.length > 0) {
      const memberRepositories = groupTargets.flatMap((t) =>
        t.group.flatMap((m) => (m.repository ? [arn('ecr', 'repository', m.repository)] : [])),
      );
      // Validate resolves each member's image (its repository's URI, the release's tag there).
      allow(['validate'], ['ecr:DescribeRepositories'], [...repositories, ...memberRepositories]);
      if (memberRepositories.length > 0) allow(['validate'], ['ecr:DescribeImages'], memberRepositories);
      allow(
        [
          'validate',
          'deploy-member',
          'stop-member',
          'start-member',
          'check-health',
          'register-wait',
          'wait-resume',
          'reconciler',
          'recover-execution',
          // The ops rollback of a promoted group checks where each member runs now.
          'plan-rollback',
        ],
        ['ecs:DescribeServices'],
        memberServices,
      );
      // The recovery of an ended release puts its group back (the reconciler finishes a singleton's).
      allow(
        ['deploy-member', 'stop-member', 'start-member', 'recover-execution', 'reconciler'],
        ['ecs:UpdateService'],
        memberServices,
      );
      allow(['deploy-member'], ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], ['*']);
      // The ops rollback of a promoted group reads each member's last good revision (its image).
      allow(['plan-rollback'], ['ecs:DescribeTaskDefinition'], ['*']);
      allow(['deploy-member'], ['ecs:TagResource'], [arn('ecs', 'task-definition', '*')]);
      const roles = groupTargets.flatMap((t) =>
        [t.ecs.roles.task, t.ecs.roles.execution].filter((r) => r !== undefined),
      );
      if (roles.length > 0)
        allow(['deploy-member'], ['iam:PassRole'], roles, {
          StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
        });
      // A singleton's colour draining, and a member's new colour judged by its stopped tasks.
      const groupClusters = [...new Set(groupTargets.map((t) => t.ecs.cluster))];
      const drainers: FunctionFolder[] = [
        'check-health',
        'register-wait',
        'wait-resume',
        'reconciler',
        'recover-execution',
        'start-member',
      ];
      allow(drainers, ['ecs:ListTasks'], ['*'], {
        ArnEquals: { 'ecs:cluster': groupClusters.map((c) => arn('ecs', 'cluster', c)) },
      });
      allow(
        drainers,
        ['ecs:DescribeTasks'],
        groupClusters.map((c) => arn('ecs', 'task', `${c}/*`)),
      );
      // Web members' rules move with the primary's (ModifyRule / ModifyListener below take trafficArns).
      // A web member's weights are read from its rule, or from its listener's default action.
      const webTraffic = groupTargets.flatMap((t) => t.group.flatMap((m) => (m.traffic ? [m.traffic] : [])));
      const reads = [
        ...(webTraffic.some((w) => w.listenerRuleArn) ? ['elasticloadbalancing:DescribeRules'] : []),
        ...(webTraffic.some((w) => w.listenerArn) ? ['elasticloadbalancing:DescribeListeners'] : []),
      ];
      if (reads.length > 0) allow(['validate', 'stop-member'], reads, ['*']);
      // A member's task stopping re-checks the target's bakes, with the new colours' target health.
      allow(['wait-resume'], ['elasticloadbalancing:DescribeTargetHealth'], ['*']);
    }
    // RegisterRevision registers the revision before the deploy when a target's preDeploy hooks must
    // run the new version first: the same registration, so the same grants, only if one needs it.
    const registrars = [
      'deploy-inactive-colour',
      ...(targets.some((t) => t.hooks.preDeploy.length > 0) ? ['register-revision'] : []),
    ] as FunctionFolder[];
    allow(registrars, ['ecr:DescribeRepositories'], repositories);
    allow(
      [
        'validate',
        'register-wait',
        'wait-resume',
        'reconciler',
        'roll-back-traffic',
        // Reads both colours to choose the fast or the slow path.
        'plan-rollback',
        // Recovery checks the colour it puts traffic back on.
        'recover-execution',
        // Every check reads the new colour's deployment, to judge its stopped tasks (check-health/run.ts).
        'check-health',
      ],
      ['ecs:DescribeServices'],
      services,
    );
    // Those stopped tasks: listed in the targets' clusters only, and described there.
    const ecsClusters = [...new Set(targets.map((t) => t.ecs.cluster))];
    allow(['check-health'], ['ecs:ListTasks'], ['*'], {
      ArnEquals: { 'ecs:cluster': ecsClusters.map((c) => arn('ecs', 'cluster', c)) },
    });
    allow(
      ['check-health'],
      ['ecs:DescribeTasks'],
      ecsClusters.map((c) => arn('ecs', 'task', `${c}/*`)),
    );
    allow(
      [
        'deploy-inactive-colour',
        'scale-down-old-colour',
        'clean-up-inactive-colour',
        'roll-back-traffic',
        // Recovery scales the colour a stopped release was deploying back to 0.
        'recover-execution',
        'reconciler',
      ],
      ['ecs:UpdateService'],
      services,
    );
    // AWS has no resource-level permissions for these two ECS actions (acknowledged below).
    allow(['validate', ...registrars, 'request-approval'], ['ecs:DescribeTaskDefinition'], ['*']);
    allow(registrars, ['ecs:RegisterTaskDefinition'], ['*']);
    allow(registrars, ['ecs:TagResource'], [arn('ecs', 'task-definition', '*')]);
    // Only the roles the targets' task definitions name (Validate refuses a definition naming others).
    const passRoles = targets.flatMap((t) =>
      [t.ecs.roles.task, t.ecs.roles.execution].filter((r) => r !== undefined),
    );
    if (passRoles.length > 0) {
      allow(registrars, ['iam:PassRole'], passRoles, {
        StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      });
    }
    // Release state changes go to Switchyard's own bus only, from the functions that announce them.
    allow(
      [...releaseEventPublishers],
      ['events:PutEvents'],
      [arn('events', 'event-bus', `${this.stackName}-releases`)],
      // Only Switchyard's own events (the bus's policy refuses its source to anyone else). Both keys
      // are multivalued (one value per entry), hence ForAllValues, and Null so a call without them
      // does not pass vacuously (IAM condition operators reference).
      {
        'ForAllValues:StringEquals': {
          'events:source': [SWITCHYARD_SOURCE],
          'events:detail-type': [RELEASE_STATE_CHANGE],
        },
        Null: { 'events:source': 'false', 'events:detail-type': 'false' },
      },
    );
    // Hooks: one-off tasks in the targets' clusters only. The release's revision is a new revision of
    // whatever family the services run (not known here), so RunTask is scoped by cluster instead.
    const hookTargets = targets.filter((t) => allHooks(t.hooks).length > 0);
    if (hookTargets.length > 0) {
      const hookClusters = [...new Set(hookTargets.map((t) => t.ecs.cluster))];
      allow(['run-hook'], ['ecs:RunTask'], [arn('ecs', 'task-definition', '*')], {
        ArnEquals: { 'ecs:cluster': hookClusters.map((c) => arn('ecs', 'cluster', c)) },
      });
      const hookRoles = hookTargets.flatMap((t) =>
        [t.ecs.roles.task, t.ecs.roles.execution].filter((r) => r !== undefined),
      );
      if (hookRoles.length > 0) {
        allow(['run-hook'], ['iam:PassRole'], hookRoles, {
          StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
        });
      }
      const hookTasks = hookClusters.map((c) => arn('ecs', 'task', `${c}/*`));
      // run-hook stops a task it started for a release that was told to stop meanwhile (its fence).
      // The recovery of a release that ended during a hook stops its task (reconciler included).
      allow(['run-hook', 'record-hook', 'recover-execution', 'reconciler'], ['ecs:StopTask'], hookTasks);
      allow(['register-wait', 'wait-resume', 'reconciler'], ['ecs:DescribeTasks'], hookTasks);
      // Never two migrations at once (shared/migrations.ts): Validate, RunHook and StartLambdaHook
      // list the hook tasks Switchyard started (ListTasks by startedBy) in the clusters of targets
      // with migrations, and describe them.
      const migrationClusters = [
        ...new Set(
          hookTargets.filter((t) => allHooks(t.hooks).some((h) => h.migration)).map((t) => t.ecs.cluster),
        ),
      ];
      if (migrationClusters.length > 0) {
        allow(['validate', 'run-hook', 'start-lambda-hook'], ['ecs:ListTasks'], ['*'], {
          ArnEquals: { 'ecs:cluster': migrationClusters.map((c) => arn('ecs', 'cluster', c)) },
        });
        allow(
          ['validate', 'run-hook', 'start-lambda-hook'],
          ['ecs:DescribeTasks'],
          migrationClusters.map((c) => arn('ecs', 'task', `${c}/*`)),
        );
      }
      // Lambda hooks: after 100% nothing watched the alarms while the function ran; RecordLambdaHook
      // reads their history over its run.
      const lambdaPostAlarms = [
        ...new Set(
          hookTargets.filter((t) => t.hooks.postTraffic.some((h) => h.lambda)).flatMap((t) => t.alarms),
        ),
      ];
      if (lambdaPostAlarms.length > 0)
        allow(
          ['record-lambda-hook'],
          ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'],
          lambdaPostAlarms.map((name) => arn('cloudwatch', 'alarm', name, ArnFormat.COLON_RESOURCE_NAME)),
        );
      // The hooks' logs: the targets' own log groups, nothing else.
      const logGroups = [...new Set(hookTargets.flatMap((t) => (t.ecs.logGroup ? [t.ecs.logGroup] : [])))];
      if (logGroups.length > 0) {
        allow(
          ['record-hook'],
          ['logs:GetLogEvents'],
          logGroups.map((g) => arn('logs', 'log-group', `${g}:log-stream:*`, ArnFormat.COLON_RESOURCE_NAME)),
        );
      }
    }
    // ELBv2 Describe* actions do not support resource-level permissions (acknowledged below), so
    // each function gets only the ones it calls. The weights are read from the rule (DescribeRules)
    // or, for a target on a listener's default action, from the listener (DescribeListeners).
    const elb = (action: string) => `elasticloadbalancing:${action}`;
    allow(
      [
        'acquire-lock',
        'validate',
        'shift-traffic',
        'register-wait',
        'wait-resume',
        'reconciler',
        'scale-down-old-colour',
        'clean-up-inactive-colour',
        'roll-back-traffic',
        'plan-rollback',
        'recover-execution',
      ],
      [elb('DescribeRules'), elb('DescribeListeners')],
      ['*'],
    );
    // The test listener (deploy points it at the new colour; check-health probes through it).
    allow(['deploy-inactive-colour', 'check-health'], [elb('DescribeListeners')], ['*']);
    allow(['check-health'], [elb('DescribeLoadBalancers')], ['*']);
    allow(['validate'], [elb('DescribeTargetGroups')], ['*']);
    // The new colour's targets: judged by check-health, watched during bakes; plan-rollback checks
    // the previous colour's before taking the fast path.
    // Recovery checks the colour it puts traffic back on.
    allow(
      ['check-health', 'register-wait', 'reconciler', 'plan-rollback', 'recover-execution'],
      [elb('DescribeTargetHealth')],
      ['*'],
    );
    // Whoever fails a bake puts the weights back at once: the bake's wait registration, the alarm
    // event, the reconciler, and a rollback's lock request asking a running release to stop.
    allow(
      [
        'shift-traffic',
        'roll-back-traffic',
        'register-wait',
        'wait-resume',
        'reconciler',
        'acquire-lock',
        'recover-execution',
      ],
      ['elasticloadbalancing:ModifyRule', 'elasticloadbalancing:ModifyListener'],
      trafficArns,
    );
    if (testListeners.length)
      allow(['deploy-inactive-colour'], ['elasticloadbalancing:ModifyListener'], testListeners);
    if (instances.length) {
      allow(
        ['backup-database'],
        ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
        [
          ...instances.map((i) => arn('rds', 'db', i, ArnFormat.COLON_RESOURCE_NAME)),
          arn('rds', 'snapshot', ourSnapshot, ArnFormat.COLON_RESOURCE_NAME),
        ],
      );
      // The waits read snapshots in batches (Filters, no identifier): AWS authorizes such a call
      // against "*", so a grant scoped to snapshot ARNs would deny it. Read-only metadata.
      allow(
        ['backup-database', 'register-wait', 'wait-resume', 'reconciler', 'prune-snapshots'],
        ['rds:DescribeDBSnapshots'],
        ['*'],
      );
      // Retention: only snapshots Switchyard named (the function also checks their tags).
      allow(
        ['prune-snapshots'],
        ['rds:DeleteDBSnapshot'],
        [arn('rds', 'snapshot', ourSnapshot, ArnFormat.COLON_RESOURCE_NAME)],
      );
    }
    if (clusters.length) {
      allow(
        ['backup-database'],
        ['rds:CreateDBClusterSnapshot', 'rds:AddTagsToResource'],
        [
          ...clusters.map((c) => arn('rds', 'cluster', c, ArnFormat.COLON_RESOURCE_NAME)),
          arn('rds', 'cluster-snapshot', ourSnapshot, ArnFormat.COLON_RESOURCE_NAME),
        ],
      );
      allow(
        ['backup-database', 'register-wait', 'wait-resume', 'reconciler', 'prune-snapshots'],
        ['rds:DescribeDBClusterSnapshots'],
        ['*'],
      );
      allow(
        ['prune-snapshots'],
        ['rds:DeleteDBClusterSnapshot'],
        [arn('rds', 'cluster-snapshot', ourSnapshot, ArnFormat.COLON_RESOURCE_NAME)],
      );
    }
    // Start, step (register-wait announces a step as its bake begins) and outcome notices.
    const notifiers: FunctionFolder[] = [
      'validate',
      'shift-traffic',
      'register-wait',
      'notify',
      // Recovery tells people what it did with a stopped release.
      'recover-execution',
      'reconciler',
    ];
    allow(
      notifiers,
      ['sns:Publish'],
      targets.map((t) => t.notify.sns),
    );
    // Approval emails go to each approver through SES, from the target's verified sender: SES
    // authorizes the identity it is verified as, the address or its domain, so both are granted.
    const senders = [
      ...new Set(targets.flatMap((t) => (t.approval?.emailFrom ? [t.approval.emailFrom] : []))),
    ];
    if (senders.length > 0) {
      allow(
        ['request-approval'],
        ['ses:SendEmail'],
        [...new Set(senders.flatMap((from) => [from, from.split('@')[1] as string]))].map((identity) =>
          arn('ses', 'identity', identity, ArnFormat.SLASH_RESOURCE_NAME),
        ),
      );
    }
    // A secret named by its name gets AWS's random 6-character suffix in its ARN.
    const webhookSecrets = targets.flatMap((t) =>
      [t.notify.slackWebhookSecret, t.notify.teamsWebhookSecret].flatMap((s) =>
        !s
          ? []
          : s.startsWith('arn:')
            ? [s]
            : [arn('secretsmanager', 'secret', `${s}-??????`, ArnFormat.COLON_RESOURCE_NAME)],
      ),
    );
    if (webhookSecrets.length > 0)
      allow([...notifiers, 'request-approval'], ['secretsmanager:GetSecretValue'], webhookSecrets);
    allow(['start-release', 'promote', 'request-release'], ['states:StartExecution'], [stateMachineArn]);
    allow(
      // ReleaseLock and recovery hand the lock over (success) and send a displaced release's owed
      // Superseded (failure, lock-signals.ts); the others resume or fail waits.
      [
        'acquire-lock',
        'register-wait',
        'wait-resume',
        'reconciler',
        'approvals',
        'slack-decisions',
        'release-lock',
        'recover-execution',
        // A retried request hands an already recorded decision to its own new token.
        'request-approval',
      ],
      // The Service Authorization Reference lists no resource type for the task-token actions: AWS
      // authorizes them against "*", so a grant scoped to the state machines would deny every call.
      // What limits them is the token itself, which only Switchyard's own waits hold.
      ['states:SendTaskSuccess', 'states:SendTaskFailure'],
      ['*'],
    );
    allow(
      // A rollback stops the release it must not wait for, when that release is not parked on a
      // wait or an approval it can be woken from (acquire-lock's requestAbort).
      ['acquire-lock'],
      ['states:StopExecution'],
      [arn('states', 'execution', `${stateMachineArn.split(':').at(-1)}:*`, ArnFormat.COLON_RESOURCE_NAME)],
    );
    allow(
      // AcquireLock before taking over an expired lock; the reconciler for every lock's owner; the
      // hand-over (ReleaseLock, recovery) when the new owner's task is already closed: resumed or gone?
      // StartRelease: which attempt of an image a push is (attempts.ts). The approval handlers: whether
      // a decision whose token was closed reached a running release or came too late (approvals.ts).
      [
        'acquire-lock',
        'reconciler',
        'release-lock',
        'recover-execution',
        'start-release',
        'promote',
        'request-release',
        'approvals',
        'slack-decisions',
        'request-approval',
      ],
      ['states:DescribeExecution'],
      [stateMachineArn, rollbackArn].map((sm) =>
        arn('states', 'execution', `${sm.split(':').at(-1)}:*`, ArnFormat.COLON_RESOURCE_NAME),
      ),
    );
    // The reconciler, with many locks, lists the running owners a page at a time instead of
    // describing each (functions/reconciler/run.ts): ListExecutions is authorized on the state machine.
    allow(['reconciler'], ['states:ListExecutions'], [stateMachineArn, rollbackArn]);
  }

  /** The approval API (infra/constructs/approval-api.ts) and the secrets its functions check requests with. */
  private approvalEndpoints(): ApprovalApi {
    const signingKey = new Secret(this, 'ApprovalSigningKey', {
      description: 'Signs Switchyard approval links (HMAC-SHA256)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const slackSigningSecret = new Secret(this, 'SlackSigningSecret', {
      description:
        "Your Slack app's signing secret (Basic Information → App Credentials); replace the generated value",
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    const api = new ApprovalApi(this, 'ApprovalApi', {
      pages: this.functions.approvals,
      slack: this.functions['slack-interactions'],
    });

    // GetSecretValue only (grantRead would add DescribeSecret, which no function calls).
    const readSecret = (secret: Secret, folder: FunctionFolder) =>
      this.functions[folder].addToRolePolicy(
        new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
      );
    for (const folder of ['request-approval', 'approvals'] as const) {
      readSecret(signingKey, folder);
      this.functions[folder].addEnvironment('APPROVAL_KEY_SECRET', signingKey.secretArn);
    }
    this.functions['request-approval'].addEnvironment('APPROVAL_BASE_URL', api.baseUrl);
    readSecret(slackSigningSecret, 'slack-interactions');
    // Slack is acknowledged first; the decision runs on Lambda's asynchronous queue: two retries
    // (Lambda's default), and what fails them all goes to the dead-letter queue.
    const decisions = this.functions['slack-decisions'];
    // The unqualified function only (grantInvoke would add every version and alias, `:*`).
    this.functions['slack-interactions'].addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [decisions.functionArn] }),
    );
    this.functions['slack-interactions'].addEnvironment('SLACK_DECISIONS_FUNCTION', decisions.functionName);
    this.functions['slack-interactions'].addEnvironment(
      'SLACK_SIGNING_SECRET_SECRET',
      slackSigningSecret.secretArn,
    );
    for (const secret of [signingKey, slackSigningSecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating the link key would invalidate approval links in flight, and the Slack signing secret is issued by Slack; both are rotated by hand.',
      });
    }
    return api;
  }

  /** Alarms and a dashboard on Switchyard itself, notifying an encrypted topic. */
  private monitoring(deadLetters: Queue) {
    const key = new Key(this, 'AlarmTopicKey', {
      enableKeyRotation: true,
      description: 'Switchyard alarm topic',
    });
    const topic = new Topic(this, 'Alarms', {
      masterKey: key,
      enforceSSL: true,
      displayName: 'Switchyard alarms',
    });
    // CloudWatch publishes the alarm notifications: it must be able to use the topic's key (AWS:
    // "Configure a key policy for an encrypted topic": kms:Decrypt and kms:GenerateDataKey* for
    // cloudwatch.amazonaws.com), and the topic policy, which enforceSSL replaces, must let it publish.
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: {
        'aws:SourceArn': this.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    const sm = this.stateMachine.stateMachine;
    const fns = Object.values(this.functions);
    // An alarm's math expression takes at most 10 metrics: sum the functions in groups of 10.
    const groups = Array.from({ length: Math.ceil(fns.length / 10) }, (_, g) =>
      fns.slice(g * 10, g * 10 + 10),
    );
    const sum = (metric: 'Errors' | 'Throttles', group: typeof fns, g: number) =>
      new MathExpression({
        label: `Lambda ${metric} (steps group ${g + 1})`,
        expression: group.map((_, i) => `${metric[0]?.toLowerCase()}${g}x${i}`).join('+'),
        usingMetrics: Object.fromEntries(
          group.map((fn, i) => [
            `${metric[0]?.toLowerCase()}${g}x${i}`,
            fn.metric(metric, { statistic: 'Sum' }),
          ]),
        ),
        period: Duration.minutes(5),
      });
    const atLeastOnce = {
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    // Routine outcomes (Aborted, RolledBack, Superseded) end as succeeded executions whose output
    // carries the outcome: a failed or timed-out execution is always unexpected, worth a page.
    const alarms = [
      new Alarm(this, 'ExecutionsFailed', {
        metric: sm.metricFailed({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        ...atLeastOnce,
      }),
      new Alarm(this, 'ExecutionsTimedOut', {
        metric: sm.metricTimedOut({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        ...atLeastOnce,
      }),
      ...groups.flatMap((group, g) => [
        new Alarm(this, `LambdaErrors${g + 1}`, {
          metric: sum('Errors', group, g),
          threshold: 1,
          evaluationPeriods: 1,
          ...atLeastOnce,
        }),
        new Alarm(this, `LambdaThrottles${g + 1}`, {
          metric: sum('Throttles', group, g),
          threshold: 1,
          evaluationPeriods: 1,
          ...atLeastOnce,
        }),
      ]),
      // A rollback that failed left traffic where someone wanted it gone: page at once.
      new Alarm(this, 'RollbacksFailed', {
        metric: this.rollbackStateMachine.stateMachine.metricFailed({ period: Duration.minutes(1) }),
        threshold: 1,
        evaluationPeriods: 1,
        ...atLeastOnce,
      }),
      new Alarm(this, 'EventsDeadLettered', {
        metric: deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        ...atLeastOnce,
      }),
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(new SnsAction(topic));
    }

    // Notices a channel did not take (a release never fails for it), from the notifiers' log lines.
    for (const folder of ['validate', 'shift-traffic', 'notify'] as const) {
      new MetricFilter(this, `NotificationFailures${pascal(folder)}`, {
        logGroup: this.functions[folder].logGroup,
        metricNamespace: 'Switchyard',
        metricName: 'NotificationFailures',
        filterPattern: FilterPattern.stringValue('$.message', '=', 'notification failed'),
        metricValue: '1',
      });
    }

    // Releases by outcome, from RecordOutcome's structured log line.
    const outcomes = new MetricFilter(this, 'ReleaseOutcomes', {
      logGroup: this.functions['record-outcome'].logGroup,
      metricNamespace: 'Switchyard',
      metricName: 'Releases',
      filterPattern: FilterPattern.stringValue('$.message', '=', 'release outcome'),
      metricValue: '1',
      dimensions: { Outcome: '$.outcome' },
    });

    new Dashboard(this, 'Dashboard', {
      dashboardName: `${this.stackName}-switchyard`,
      widgets: [
        [
          new GraphWidget({
            title: 'Release executions',
            left: [sm.metricStarted(), sm.metricSucceeded(), sm.metricFailed(), sm.metricTimedOut()],
          }),
          new GraphWidget({
            title: 'Releases by outcome',
            left: ['Promoted', 'Aborted', 'RolledBack', 'Superseded', 'RollbackFailed'].map((o) =>
              outcomes.metric({ dimensionsMap: { Outcome: o }, statistic: 'Sum', label: o }),
            ),
          }),
        ],
        [
          new GraphWidget({
            title: 'Lambda errors and throttles',
            left: groups.flatMap((group, g) => [sum('Errors', group, g), sum('Throttles', group, g)]),
          }),
          new GraphWidget({
            title: 'Dead-lettered events',
            left: [deadLetters.metricApproximateNumberOfMessagesVisible()],
          }),
        ],
      ],
    });
  }

  /** cdk-nag findings that are true but intended, each acknowledged individually with its reason. */
  private acknowledge(releases: Table, targetsFile: TargetsFile) {
    const ack = (id: string, reason: string) => Validations.of(this).acknowledge({ id, reason });
    // Finding ids show unresolved tokens the way cdk-nag renders them.
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const prefix = `arn:<AWS::Partition>:%s:${region}:<AWS::AccountId>`;
    const at = (service: string, rest: string) =>
      `AwsSolutions-IAM5[Resource::${prefix.replace('%s', service)}:${rest}]`;
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The AWS-managed basic execution role only lets a function write its own logs.',
    );
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      "Lambda needs it to attach CheckHealth to the targets' VPC (network interfaces); AWS maintains it for exactly that.",
    );
    ack(
      'AwsSolutions-IAM5[Resource::*]',
      'ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition, the ELBv2 Describe* actions, cloudwatch:GetMetricData, states:SendTaskSuccess/SendTaskFailure and X-Ray writes have no resource-level permissions; RDS snapshot describes by filter are authorized against "*"; iam:PassRole covers only the configured task and execution roles.',
    );
    ack(
      `AwsSolutions-IAM5[Resource::<${this.getLogicalId(releases.node.defaultChild as CfnElement)}.Arn>/index/*]`,
      "Release history is queried through the table's own byTarget index.",
    );
    ack(
      at('ecs', 'task-definition/*'),
      'Deploy tags the task definition revision it registers; its family and revision are only known at run time.',
    );
    // Task ids are only known at run time: hooks' one-off tasks (RunHook stops, RecordHook and the
    // waits describe them) and a group's service tasks (a singleton's colour draining, a member's
    // tasks that stopped on their own), in the targets' own clusters only.
    // CheckHealth reads the new colour's stopped tasks in every target's cluster, on every check.
    const taskClusters = new Set(targetsFile.targets.map((t) => t.ecs.cluster));
    for (const cluster of taskClusters)
      ack(
        at('ecs', `task/${cluster}/*`),
        `Tasks in cluster ${cluster} whose ids are known only at run time: hooks' one-off tasks, release groups' service tasks, and a new colour's stopped tasks (CheckHealth).`,
      );
    // A hook's log stream is named after its task (`<prefix>/<container>/<task id>`), known at run time.
    const hookLogGroups = new Set(
      targetsFile.targets
        .filter((t) => allHooks(t.hooks).length > 0 && t.ecs.logGroup)
        .map((t) => t.ecs.logGroup as string),
    );
    for (const group of hookLogGroups)
      ack(
        at('logs', `log-group:${group}:log-stream:*`),
        `RecordHook reads a hook task's own stream in ${group}, named after the task, known only at run time.`,
      );
    ack(
      at('rds', 'snapshot:switchyard-*'),
      'Only snapshots Switchyard names switchyard-<release id>; the release id is only known at run time.',
    );
    ack(
      at('rds', 'cluster-snapshot:switchyard-*'),
      'Only cluster snapshots Switchyard names switchyard-<release id>; the release id is only known at run time.',
    );
    for (const machine of ['release', 'rollback']) {
      ack(
        at('states', `execution:${this.stackName}-${machine}:*`),
        `AcquireLock checks whether a lock's owner, an execution of the ${machine} state machine, still runs; its name is only known at run time.`,
      );
    }
    const runtime =
      'Functions run on Node.js 22, the version their tests run on; the runtime moves with the toolchain, not ahead of it.';
    ack('AwsSolutions-L1', runtime);
    ack('Serverless-LambdaLatestVersion', runtime);
    const dlq =
      'This queue is the dead-letter queue of the rule targets and event functions; a DLQ of a DLQ would only move the problem, so it has an alarm instead.';
    ack('AwsSolutions-SQS3', dlq);
    ack('Serverless-SQSRedrivePolicy', dlq);
  }
}

const pascal = (folder: string) => folder.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
