/**
 * The IAM check: every AWS call a function made in the local runtime, evaluated against that
 * function's role in the synthesized stack (and the resource policies that apply), as AWS would.
 *
 * The evaluator is `@cloud-copilot/iam-simulate`: AGPL-3.0, so a test-time devDependency only, used
 * here and never imported by `functions/`, `local/` or `cli/`. It was chosen over an evaluator of our
 * own because it implements IAM's whole evaluation logic (wildcards, every condition operator,
 * resource policies, explicit denies) and validates each request against the Service Authorization
 * Reference: a hand-made evaluator would be one more thing that could be kinder than AWS.
 */

import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadTargetsFile } from '../../functions/shared/config.ts';
import { SwitchyardStack } from '../../infra/stack.ts';
import type { RecordedAuthorization } from '../../local/iam/recorder.ts';
import { TABLES } from '../../local/runtime.ts';
import { allFunctionFolders, type FunctionFolder } from '../../state-machines/definitions.ts';

/** The simulated account (local/account) and the names the local runtime gives the stack's resources. */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const STACK_NAME = 'switchyard';
const localTables: [RegExp, string][] = [
  [/^Locks[0-9A-F]{8}$/, TABLES.locks],
  [/^Releases[0-9A-F]{8}$/, TABLES.releases],
  [/^Waits[0-9A-F]{8}$/, TABLES.waits],
  [/^ApprovalsTable[0-9A-F]{8}$/, TABLES.approvals],
];
const localSecrets: [RegExp, string][] = [
  [/^ApprovalSigningKey[0-9A-F]{8}$/, 'switchyard/approval-signing-key'],
  [/^SlackSigningSecret[0-9A-F]{8}$/, 'switchyard/slack-signing-secret'],
];
/** What the simulated Secrets Manager appends to a secret's name in its ARN. */
const SECRET_SUFFIX = '-AbCdEf';

type Json = unknown;
interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: Json;
  Condition?: Record<string, Record<string, unknown>>;
}

/** A request AWS makes on the stack's behalf, as a service (CloudWatch, EventBridge, Lambda). */
export interface DeliveryCheck {
  what: string;
  principal: string;
  action: string;
  resource: string;
  context?: Record<string, string>;
}

export interface StackPolicies {
  /** Identity policies of each function's role, with every token resolved to the local names. */
  roles: Map<string, PolicyDocument[]>;
  /** Resource policies by resource ARN (KMS key, SNS topic, SQS queue). */
  resourcePolicies: Map<string, PolicyDocument>;
  /** Requests AWS services make on the stack's behalf, checked the same way. */
  deliveries: DeliveryCheck[];
  /** The template, for tests that change it. */
  template: Record<string, Json>;
}

const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;

/**
 * Synthesizes the stack for `targetsFile` (no bundling, no cdk-nag) as the local runtime names things.
 * Nor CDK's built-in CloudFormation schema validation: only the policies are read here, and it was
 * two thirds of each synthesis (test/infra/stack.test.ts keeps it, and fails on any finding).
 */
export const synthStack = (targetsFile: string): Record<string, Json> => {
  const app = new App({
    context: { targetsFile, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const stack = new SwitchyardStack(app, STACK_NAME, {
    targets: loadTargetsFile(targetsFile),
    env: { account: ACCOUNT, region: REGION },
  });
  const template = Template.fromStack(stack).toJSON() as Record<string, Json>;
  // Which function each logical id is: the construct id is the PascalCase folder.
  const folders = Object.fromEntries(
    allFunctionFolders().map((f) => [stack.getLogicalId(stack.functions[f].node.defaultChild as never), f]),
  );
  return { ...template, 'switchyard:folders': folders };
};

/** Resolves CloudFormation intrinsics to the names the local runtime uses. */
const resolver = (template: Record<string, Json>) => {
  const resources = template.Resources as Record<string, { Type: string; Properties?: Record<string, Json> }>;
  const folders = template['switchyard:folders'] as Record<string, FunctionFolder>;
  const named = (logical: string, list: [RegExp, string][]) => list.find(([re]) => re.test(logical))?.[1];
  const physical = (logical: string): { ref: string; arn: string } => {
    const resource = resources[logical];
    if (!resource) throw new Error(`no resource ${logical} in the template`);
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::Lambda::Function': {
        const name = `switchyard-${folders[logical] ?? logical}`;
        return { ref: name, arn: arn('lambda', `function:${name}`) };
      }
      case 'AWS::DynamoDB::Table': {
        const name = named(logical, localTables) ?? logical;
        return { ref: name, arn: arn('dynamodb', `table/${name}`) };
      }
      case 'AWS::SecretsManager::Secret': {
        const a = arn('secretsmanager', `secret:${named(logical, localSecrets) ?? logical}${SECRET_SUFFIX}`);
        return { ref: a, arn: a };
      }
      case 'AWS::SQS::Queue':
        return { ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${logical}`, arn: arn('sqs', logical) };
      case 'AWS::SNS::Topic':
        return { ref: arn('sns', logical), arn: arn('sns', logical) };
      case 'AWS::KMS::Key':
        return { ref: logical, arn: arn('kms', `key/${logical}`) };
      case 'AWS::IAM::Role':
        return { ref: logical, arn: `arn:aws:iam::${ACCOUNT}:role/${logical}` };
      case 'AWS::StepFunctions::StateMachine': {
        const name = String(props.StateMachineName ?? logical);
        return { ref: arn('states', `stateMachine:${name}`), arn: arn('states', `stateMachine:${name}`) };
      }
      case 'AWS::Events::Rule':
        return { ref: logical, arn: arn('events', `rule/${logical}`) };
      case 'AWS::Logs::LogGroup':
        return { ref: logical, arn: arn('logs', `log-group:${logical}:*`) };
      default:
        return { ref: logical, arn: `arn:aws:unknown:${REGION}:${ACCOUNT}:${logical}` };
    }
  };
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': STACK_NAME,
  };
  const resolve = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!value || typeof value !== 'object') return value;
    const obj = value as Record<string, Json>;
    if ('Ref' in obj) {
      const ref = obj.Ref as string;
      return pseudo[ref] ?? physical(ref).ref;
    }
    if ('Fn::GetAtt' in obj) {
      const [logical, attribute] = obj['Fn::GetAtt'] as [string, string];
      if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${logical}.${attribute} is not resolved here`);
      return physical(logical).arn;
    }
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, Json[]];
      return (resolve(parts) as string[]).join(sep);
    }
    if ('Fn::Sub' in obj) {
      const text = obj['Fn::Sub'] as string;
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [logical, attribute] = name.split('.');
        if (pseudo[name]) return pseudo[name];
        return attribute === 'Arn' ? physical(logical as string).arn : physical(logical as string).ref;
      });
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v)]));
  };
  return { resolve, physical, resources, folders };
};

/** Each function's role policies, the resource policies, and what AWS services do on the stack's behalf. */
export const policiesOf = (template: Record<string, Json>): StackPolicies => {
  const { resolve, physical, resources, folders } = resolver(template);
  const roleOfFunction = new Map<string, string>();
  for (const [logical, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const folder = folders[logical];
    const role = (r.Properties?.Role as { 'Fn::GetAtt': [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
    if (folder && role) roleOfFunction.set(role, folder);
  }
  // The state machines' roles, by machine: `state-machine:<name>`.
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const role = (r.Properties?.RoleArn as { 'Fn::GetAtt': [string, string] } | undefined)?.[
      'Fn::GetAtt'
    ]?.[0];
    if (role) roleOfFunction.set(role, `state-machine:${String(r.Properties?.StateMachineName)}`);
  }
  const roles = new Map<string, PolicyDocument[]>();
  const resourcePolicies = new Map<string, PolicyDocument>();
  const addPolicy = (roleLogical: string, doc: PolicyDocument) => {
    const owner = roleOfFunction.get(roleLogical) ?? `role:${roleLogical}`;
    roles.set(owner, [...(roles.get(owner) ?? []), resolve(doc) as PolicyDocument]);
  };
  for (const [logical, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    // A managed policy attached to the role counts as well: CDK moves statements into one
    // (`…OverflowPolicy1`) when a role's inline policy outgrows IAM's size limit.
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      for (const role of (p.Roles as { Ref: string }[]) ?? [])
        addPolicy(role.Ref, p.PolicyDocument as PolicyDocument);
    } else if (r.Type === 'AWS::IAM::Role') {
      for (const inline of (p.Policies as { PolicyDocument: PolicyDocument }[]) ?? [])
        addPolicy(logical, inline.PolicyDocument);
    } else if (r.Type === 'AWS::KMS::Key') {
      resourcePolicies.set(physical(logical).arn, resolve(p.KeyPolicy) as PolicyDocument);
    } else if (r.Type === 'AWS::SNS::TopicPolicy') {
      for (const topic of resolve(p.Topics) as string[])
        resourcePolicies.set(topic, resolve(p.PolicyDocument) as PolicyDocument);
    } else if (r.Type === 'AWS::SQS::QueuePolicy') {
      for (const url of resolve(p.Queues) as string[])
        resourcePolicies.set(
          arn('sqs', url.split('/').at(-1) as string),
          resolve(p.PolicyDocument) as PolicyDocument,
        );
    }
  }

  // What AWS does on the stack's behalf: CloudWatch alarm actions publish to the alarm topic
  // (encrypted: CloudWatch must be able to use its key), EventBridge and Lambda dead-letter events.
  const deliveries: DeliveryCheck[] = [];
  for (const [logical, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    for (const action of (resolve(r.Properties?.AlarmActions) as string[]) ?? []) {
      const alarmArn = arn('cloudwatch', `alarm:${logical}`);
      const context = { 'aws:SourceArn': alarmArn, 'aws:SourceAccount': ACCOUNT };
      deliveries.push({
        what: `alarm ${logical} notifies`,
        principal: 'cloudwatch.amazonaws.com',
        action: 'sns:Publish',
        resource: action,
        context,
      });
      const topicLogical = Object.entries(resources).find(
        ([l, t]) => t.Type === 'AWS::SNS::Topic' && physical(l).ref === action,
      );
      const keyRef = topicLogical?.[1].Properties?.KmsMasterKeyId;
      if (keyRef) {
        const keyArn = resolve(keyRef) as string;
        const key = keyArn.startsWith('arn:') ? keyArn : physical(keyArn).arn;
        for (const kms of ['kms:GenerateDataKey', 'kms:Decrypt'])
          deliveries.push({
            what: `alarm ${logical} uses the topic's key`,
            principal: 'cloudwatch.amazonaws.com',
            action: kms,
            resource: key,
            context,
          });
      }
    }
  }
  for (const [logical, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    for (const t of (r.Properties?.Targets as { DeadLetterConfig?: { Arn: Json } }[]) ?? []) {
      if (!t.DeadLetterConfig) continue;
      deliveries.push({
        what: `rule ${logical} dead-letters an event`,
        principal: 'events.amazonaws.com',
        action: 'sqs:SendMessage',
        resource: resolve(t.DeadLetterConfig.Arn) as string,
        context: { 'aws:SourceArn': arn('events', `rule/${logical}`), 'aws:SourceAccount': ACCOUNT },
      });
    }
  }
  // Step Functions invokes each function its definition names, as the state machine's role.
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const name = String(r.Properties?.StateMachineName);
    const substitutions = resolve(r.Properties?.DefinitionSubstitutions ?? {}) as Record<string, string>;
    for (const fn of Object.values(substitutions).filter((v) => v.includes(':function:')))
      deliveries.push({
        what: `state machine ${name} invokes ${fn.split(':').at(-1)}`,
        principal: `role:state-machine:${name}`,
        action: 'lambda:InvokeFunction',
        resource: fn,
      });
  }
  for (const [logical, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
    const failure = (r.Properties?.DestinationConfig as { OnFailure?: { Destination: Json } })?.OnFailure;
    const fn = (r.Properties?.FunctionName as { Ref: string } | undefined)?.Ref ?? logical;
    if (failure)
      deliveries.push({
        what: `function ${folders[fn] ?? fn} sends a failed event (${logical})`,
        principal: `role:${folders[fn] ?? fn}`,
        action: 'sqs:SendMessage',
        resource: resolve(failure.Destination) as string,
      });
  }
  return { roles, resourcePolicies, deliveries, template };
};

export interface Denial {
  by: string;
  action: string;
  resource: string;
  calls: number;
  why: string;
}

export interface IamReport {
  calls: number;
  allowed: number;
  denials: Denial[];
  /** Each function's granted actions, and whether a recorded call used it. */
  grants: { by: string; action: string; used: boolean }[];
}

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  ).test(value);

/**
 * One request, as AWS evaluates it: `who` is a role (`role:<name>`, with that role's identity
 * policies) or a service principal (`cloudwatch.amazonaws.com`, none), against the resource's policy.
 */
const simulate = async (
  policies: StackPolicies,
  who: string,
  action: string,
  resource: string,
  context: Record<string, string> = {},
): Promise<{ allowed: boolean; why: string; identity: PolicyDocument[] }> => {
  const role = who.startsWith('role:') ? who.slice(5) : undefined;
  const identity = role ? (policies.roles.get(role) ?? []) : [];
  const simulation: Simulation = {
    identityPolicies: identity.map((policy, i) => ({ name: `policy${i}`, policy: policy as never })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policies.resourcePolicies.get(resource) as never,
    request: {
      principal: role ? `arn:aws:iam::${ACCOUNT}:role/${role}` : who,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: { 'aws:SecureTransport': 'true', ...context },
    },
  } as Simulation;
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error')
    return { allowed: false, identity, why: `invalid request: ${JSON.stringify(result.errors)}` };
  const allowed = result.overallResult === 'Allowed';
  return { allowed, identity, why: allowed ? '' : result.overallResult };
};

/** Evaluates recorded calls against the stack; `records` must come from runs of the same targets file. */
export const checkCalls = async (
  policies: StackPolicies,
  records: RecordedAuthorization[],
): Promise<IamReport> => {
  const denials: Denial[] = [];
  let calls = 0;
  let allowed = 0;
  const usedActions = new Set<string>();
  for (const r of records) {
    calls += r.calls;
    if (r.problem) {
      denials.push({ by: r.by, action: r.action, resource: r.resource, calls: r.calls, why: r.problem });
      continue;
    }
    const verdict = await simulate(policies, `role:${r.by}`, r.action, r.resource, r.context);
    const { identity } = verdict;
    if (verdict.allowed) {
      allowed += r.calls;
      usedActions.add(`${r.by}|${r.action}`);
    } else {
      const granted = identity
        .flatMap((d) => d.Statement)
        .filter((s) => s.Effect === 'Allow' && asList(s.Action).some((a) => glob(a, r.action)))
        .flatMap((s) => asList(s.Resource));
      denials.push({
        ...r,
        why: granted.length
          ? `${verdict.why}: ${r.action} is granted only on ${granted.join(', ')}`
          : `${verdict.why}: the role has no statement allowing ${r.action}`,
      });
    }
  }
  const grants: IamReport['grants'] = [];
  for (const [by, docs] of policies.roles) {
    const actions = new Set(
      docs
        .flatMap((d) => d.Statement)
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => asList(s.Action)),
    );
    for (const action of actions) grants.push({ by, action, used: usedActions.has(`${by}|${action}`) });
  }
  return { calls, allowed, denials, grants };
};

/**
 * The requests AWS services make for the stack (alarm notifications, dead letters, the state
 * machines' invocations), each must be allowed. `used` collects the role grants they use.
 */
export const checkDeliveries = async (policies: StackPolicies, used?: Set<string>): Promise<Denial[]> => {
  const denials: Denial[] = [];
  for (const d of policies.deliveries) {
    const byRole = d.principal.startsWith('role:') ? d.principal.slice(5) : undefined;
    const verdict = await simulate(policies, d.principal, d.action, d.resource, d.context);
    if (!verdict.allowed)
      denials.push({
        by: d.principal,
        action: d.action,
        resource: d.resource,
        calls: 0,
        why: `${d.what}: ${verdict.why}`,
      });
    else if (byRole) used?.add(`${byRole} ${d.action}`);
  }
  return denials;
};

export const describeDenial = (d: Denial) =>
  `${d.by} calls ${d.action} on ${d.resource}${d.calls ? ` (${d.calls} calls)` : ''}: ${d.why}`;
