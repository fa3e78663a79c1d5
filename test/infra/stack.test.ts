/** The CDK stack, proven by synthesis: Template assertions on behaviour, and cdk-nag. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadDeployedTargets, loadTargetsFile } from '../../functions/shared/config.ts';
import { buildApp } from '../../infra/app.ts';
import { APPROVAL_API_STAGE } from '../../infra/approval-api-limits.ts';
import { writeTargetsFile } from '../../local/runtime.ts';
import {
  allFunctionFolders,
  asyncFunctions,
  eventFunctions,
  keptWarmFunctions,
  releaseDefinitionPath,
  releaseFunctions,
  rollbackDefinitionPath,
  rollbackFunctions,
  startChainFunctions,
} from '../../state-machines/definitions.ts';
import { fixtureTargets } from '../support/runtime.ts';

const pascalCase = (folder: string) => folder.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

const threeTargets = fileURLToPath(new URL('../fixtures/targets-three.json', import.meta.url));

/** Synthesizes without bundling (esbuild is exercised by `npm run bundle-report` and `cdk synth`). */
const synth = (targetsFile: string) => {
  const app = new App({ context: { targetsFile, 'aws:cdk:bundling-stacks': [] } });
  const { stack } = buildApp(app);
  const assembly = app.synth();
  return { stack, template: Template.fromStack(stack), assembly };
};

const { stack, template, assembly } = synth(fixtureTargets);
const logicalId = (folder: string) =>
  stack.getLogicalId(stack.functions[folder as keyof typeof stack.functions].node.defaultChild as never);

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
const statementsOf = (policyFilter: (logical: string) => boolean) =>
  Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([logical]) => policyFilter(logical))
    .flatMap(
      ([, policy]) =>
        (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
          .Statement,
    );
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe('SwitchyardStack', () => {
  it('writes the targets it validated, defaults filled in and marked so, for every function to bundle', () => {
    const written = join(assembly.directory, `${stack.node.id}.targets.json`);
    expect(JSON.parse(readFileSync(written, 'utf8')).validatedBy).toBe('switchyard');
    expect(loadDeployedTargets(written)).toEqual(loadTargetsFile(fixtureTargets));
  });

  it('lets the state machine invoke each step function and nothing else', () => {
    const statements = statementsOf((l) => l.startsWith('ReleaseRole'));
    const invoke = statements.filter((s) => actions(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    const expected = [...new Set(Object.values(releaseFunctions))].map((f) => ({
      'Fn::GetAtt': [logicalId(f), 'Arn'],
    }));
    expect(resources(invoke[0] as Statement)).toEqual(expected);
    expect(statements.flatMap(actions).filter((a) => a.startsWith('lambda:'))).toEqual([
      'lambda:InvokeFunction',
    ]);
  });

  it('deploys the ASL file as written, with each placeholder bound to its function', () => {
    const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as {
      Properties: Record<string, unknown>;
    }[];
    expect(sm?.Properties.DefinitionString).toBe(readFileSync(releaseDefinitionPath, 'utf8'));
    expect(sm?.Properties.DefinitionSubstitutions).toEqual(
      Object.fromEntries(
        Object.entries(releaseFunctions).map(([key, folder]) => [
          key,
          { 'Fn::GetAtt': [logicalId(folder), 'Arn'] },
        ]),
      ),
    );
  });

  it('deploys the rollback ASL as written; its role invokes exactly the rollback steps', () => {
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as {
      Properties: Record<string, unknown>;
    }[];
    const rollbackMachine = machines.find(
      (m) => m.Properties.DefinitionString === readFileSync(rollbackDefinitionPath, 'utf8'),
    );
    expect(rollbackMachine?.Properties.DefinitionSubstitutions).toEqual(
      Object.fromEntries(
        Object.entries(rollbackFunctions).map(([key, folder]) => [
          key,
          { 'Fn::GetAtt': [logicalId(folder), 'Arn'] },
        ]),
      ),
    );
    const invoke = statementsOf((l) => l.startsWith('RollbackRole')).filter((s) =>
      actions(s).includes('lambda:InvokeFunction'),
    );
    expect(invoke.flatMap(resources)).toEqual(
      [...new Set(Object.values(rollbackFunctions))].map((f) => ({ 'Fn::GetAtt': [logicalId(f), 'Arn'] })),
    );
  });

  it('outputs what the switchyard CLI reads from its environment', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'SWITCHYARDRELEASESTATEMACHINEARN',
        'SWITCHYARDROLLBACKSTATEMACHINEARN',
        'SWITCHYARDLOCKSTABLE',
        'SWITCHYARDRELEASESTABLE',
        'SWITCHYARDWAITSTABLE',
      ]),
    );
  });

  it('runs a Standard state machine logging ALL without execution data, with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: Match.anyValue() },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('builds every function on Node.js 22, ARM64, traced, with explicit memory and timeout and a retained log group', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: Record<string, unknown>;
    }[];
    expect(fns).toHaveLength(allFunctionFolders().length);
    for (const fn of fns) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        // One vCPU: a cold start takes a third of what it took at 512 MB (infra/function-runtime.ts).
        MemorySize: 1769,
      });
      expect(fn.Properties.Timeout).toBeGreaterThan(0);
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.stringMatching(/Logs/) } });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });

  it('starts releases only for pushes to the configured repositories', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: {
          'action-type': ['PUSH'],
          result: ['SUCCESS'],
          'repository-name': ['checkout-api', 'search-api'],
        },
      },
    });
  });

  it('gives every rule target a dead-letter queue and a retry policy', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as {
      Properties: { Targets: Record<string, unknown>[] };
    }[];
    // ECR pushes, CloudTrail PutImage, ECS, RDS, alarms, ended executions, schedule, release requests
    expect(rules.length).toBe(8);
    for (const rule of rules) {
      for (const target of rule.Properties.Targets) {
        expect(target).toMatchObject({
          DeadLetterConfig: { Arn: expect.anything() },
          RetryPolicy: { MaximumRetryAttempts: 8 },
        });
      }
    }
  });

  it("routes only the configured alarms' changes to ALARM to wait-resume, and reads only those alarms", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: ['checkout-api-5xx'], state: { value: ['ALARM'] } },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId('wait-resume'), 'Arn'] } })],
    });
    const describe = statementsOf(() => true).filter((s) => actions(s).includes('cloudwatch:DescribeAlarms'));
    expect(describe.length).toBeGreaterThan(0);
    for (const statement of describe) {
      expect(JSON.stringify(resources(statement))).toContain(':alarm:checkout-api-5xx');
      expect(resources(statement)).not.toContain('*');
    }
  });

  it('scopes ECS, ELBv2 writes and SNS to the configured resources', () => {
    const all = statementsOf(() => true);
    const rendered = (action: string) =>
      JSON.stringify(all.filter((s) => actions(s).includes(action)).flatMap(resources));
    const update = rendered('ecs:UpdateService');
    for (const service of [
      'prod/checkout-api-blue',
      'prod/checkout-api-green',
      'staging/search-blue',
      'staging/search-green',
    ]) {
      expect(update).toContain(`:service/${service}`);
    }
    expect(update).not.toContain('"*"');
    const modify = rendered('elasticloadbalancing:ModifyRule');
    expect(modify).toContain('listener-rule/app/prod-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee');
    expect(modify).not.toContain('"*"');
    expect([...new Set(JSON.parse(rendered('sns:Publish')) as string[])].sort()).toEqual([
      'arn:aws:sns:us-east-1:123456789012:switchyard-releases',
      'arn:aws:sns:us-east-1:123456789012:switchyard-staging',
    ]);
    expect(rendered('rds:CreateDBSnapshot')).toContain(':db:checkout-db');
    // Webhook URLs: only the configured secret (by name: AWS appends a 6-character suffix).
    const secret = rendered('secretsmanager:GetSecretValue');
    expect(secret).toContain(':secret:switchyard/checkout-api/slack-webhook-??????');
    expect(secret).not.toContain('"*"');
  });

  it('keeps tables point-in-time recoverable and encrypted, and expires waits by TTL', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table')) as {
      Properties: Record<string, unknown>;
    }[];
    expect(tables).toHaveLength(4); // locks, releases, waits, approvals
    for (const table of tables) {
      expect(table.Properties).toMatchObject({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('serves the approval routes through a throttled, access-logged REST API, without logging link signatures', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource') as Record<
      string,
      { Properties: { PathPart: string; ParentId: unknown } }
    >;
    const pathOf = (logical: string): string => {
      const resource = resources[logical];
      if (!resource) return '';
      const parent = JSON.stringify(resource.Properties.ParentId).match(/"Ref":"(\w+)"/)?.[1];
      return `${parent ? pathOf(parent) : ''}/${resource.Properties.PathPart}`;
    };
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => {
      const { HttpMethod, ResourceId, AuthorizationType, Integration } = (
        m as { Properties: Record<string, unknown> }
      ).Properties as {
        HttpMethod: string;
        ResourceId: { Ref: string };
        AuthorizationType: string;
        Integration: { Type: string };
      };
      return `${HttpMethod} ${pathOf(ResourceId.Ref)} ${AuthorizationType} ${Integration.Type}`;
    });
    expect(methods.sort()).toEqual([
      'GET /approvals/{id} NONE AWS_PROXY',
      'POST /approvals/{id} NONE AWS_PROXY',
      'POST /slack/interactions NONE AWS_PROXY',
    ]);
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage')) as {
      Properties: {
        StageName: string;
        MethodSettings: {
          HttpMethod: string;
          ResourcePath: string;
          ThrottlingRateLimit: number;
          ThrottlingBurstLimit: number;
        }[];
        AccessLogSetting: { Format: string; DestinationArn: unknown };
      };
    }[];
    expect(stage?.Properties.StageName).toBe(APPROVAL_API_STAGE);
    expect(stage?.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingRateLimit: 10,
        ThrottlingBurstLimit: 20,
      }),
    ]);
    expect(stage?.Properties.AccessLogSetting.DestinationArn).toBeDefined();
    // REST API access logs need the account's API Gateway CloudWatch role: without it the stage
    // fails to deploy in an account that never set one.
    template.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: Match.anyValue() });
    const format = JSON.parse(stage?.Properties.AccessLogSetting.Format ?? '{}') as Record<string, string>;
    expect(Object.values(format)).toContain('$context.status');
    // Links carry their signature in the query string: the log format must not record it.
    expect(JSON.stringify(format)).not.toMatch(/querystring|\$context\.path|requestOverride/i);
  });

  interface WafRule {
    Name: string;
    Action: { Block: { CustomResponse: { ResponseCode: number } } };
    Statement: {
      RateBasedStatement: {
        Limit: number;
        EvaluationWindowSec: number;
        AggregateKeyType: string;
        ScopeDownStatement: { ByteMatchStatement: { SearchString: string } };
      };
    };
  }

  it('puts a WAF web ACL on the approval stage that limits each client (source IP) on its own (issue 14, case 8)', () => {
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as {
      Properties: { Scope: string; DefaultAction: unknown; Rules: WafRule[] };
    }[];
    expect(acl?.Properties.Scope).toBe('REGIONAL');
    expect(acl?.Properties.DefaultAction).toEqual({ Allow: {} });
    const rules = acl?.Properties.Rules.map((r) => ({
      name: r.Name,
      status: r.Action.Block.CustomResponse.ResponseCode,
      limit: r.Statement.RateBasedStatement.Limit,
      window: r.Statement.RateBasedStatement.EvaluationWindowSec,
      key: r.Statement.RateBasedStatement.AggregateKeyType,
      path: r.Statement.RateBasedStatement.ScopeDownStatement.ByteMatchStatement.SearchString,
    }));
    expect(rules).toEqual([
      {
        name: 'PerClientApprovalPages',
        status: 429,
        limit: 100,
        window: 300,
        key: 'IP',
        path: '/approvals/',
      },
      {
        name: 'PerClientSlack',
        status: 429,
        limit: 1000,
        window: 300,
        key: 'IP',
        path: '/slack/interactions',
      },
    ]);
    // WAF's bounds (rate-based rule settings): limit at least 10, window 60/120/300/600 s.
    for (const rule of rules ?? []) {
      expect(rule.limit).toBeGreaterThanOrEqual(10);
      expect([60, 120, 300, 600]).toContain(rule.window);
    }
    const [association] = Object.values(template.findResources('AWS::WAFv2::WebACLAssociation')) as {
      Properties: { ResourceArn: unknown; WebACLArn: unknown };
    }[];
    expect(JSON.stringify(association?.Properties.ResourceArn)).toMatch(
      new RegExp(`"/stages/",\\{"Ref":"ApprovalApiDeploymentStage${APPROVAL_API_STAGE}\\w+"\\}`),
    );
    expect(JSON.stringify(association?.Properties.WebACLArn)).toMatch(/ApprovalApiFirewall\w*","Arn"/);
  });

  it('lets only the approval functions (and the steps that close or deliver one) use approval records, and the signing secrets', () => {
    const approvalsTable = Object.entries(template.findResources('AWS::DynamoDB::Table')).find(([logical]) =>
      logical.startsWith('ApprovalsTable'),
    );
    expect(approvalsTable).toBeDefined();
    const tableRef = JSON.stringify({ 'Fn::GetAtt': [approvalsTable?.[0], 'Arn'] });
    const readers = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, policy]) => JSON.stringify(policy).includes(tableRef))
      .map(([logical]) => logical.replace(/ServiceRoleDefaultPolicy.*$/, ''));
    // AcquireLock: a rollback cancels the pending approval of the release it stops (not internet-facing).
    // SlackDecisions decides Slack clicks; SlackInteractions, which faces Slack, reads no table.
    // CleanUpInactiveColour and RecoverExecution close an approval the release stopped without;
    // the Reconciler delivers a recorded decision Step Functions never confirmed.
    expect(readers.sort()).toEqual([
      'AcquireLock',
      'Approvals',
      'CleanUpInactiveColour',
      'Reconciler',
      'RecoverExecution',
      'RequestApproval',
      'SlackDecisions',
    ]);
    const secretReaders = (logicalPrefix: string) => {
      const [secret] = Object.keys(template.findResources('AWS::SecretsManager::Secret')).filter((l) =>
        l.startsWith(logicalPrefix),
      );
      return Object.entries(template.findResources('AWS::IAM::Policy'))
        .filter(([, policy]) => JSON.stringify(policy).includes(`"Ref":"${secret}"`))
        .map(([logical]) => logical.replace(/ServiceRoleDefaultPolicy.*$/, ''))
        .sort();
    };
    expect(secretReaders('ApprovalSigningKey')).toEqual(['Approvals', 'RequestApproval']);
    expect(secretReaders('SlackSigningSecret')).toEqual(['SlackInteractions']);
  });

  it('alarms on failed and timed-out executions, Lambda errors and throttles, and dead letters', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: Record<string, unknown>;
    }[];
    const names = alarms.map((a) => (a.Properties.MetricName as string) ?? 'math');
    expect(names).toEqual(
      expect.arrayContaining([
        'ExecutionsFailed',
        'ExecutionsTimedOut',
        'ApproximateNumberOfMessagesVisible',
      ]),
    );
    // Errors and throttles, each summed over groups of at most 10 functions (an alarm's math limit).
    const groups = Math.ceil(allFunctionFolders().length / 10);
    expect(alarms.filter((a) => a.Properties.Metrics).length).toBe(2 * groups);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('sends failed asynchronous invocations of the event functions and Slack decisions to the dead-letter queue', () => {
    template.resourcePropertiesCountIs(
      'AWS::Lambda::EventInvokeConfig',
      { MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: Match.anyValue() } } },
      eventFunctions.length + asyncFunctions.length,
    );
    // Of the functions, Slack's may invoke the decision function (unqualified), and the reconciler and
    // start-release the functions they keep warm (keep-warm.ts), each unqualified, the reconciler
    // start-release too (a release's first functions, warmed on every tick); nothing else.
    const invokes = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([logical, policy]) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((st) => [st.Action].flat().includes('lambda:InvokeFunction'))
        .map((st) => [logical.replace(/ServiceRoleDefaultPolicy.*$/, ''), JSON.stringify(st.Resource)]),
    );
    const getAtt = (resource: string) =>
      (JSON.parse(resource) as { 'Fn::GetAtt': [string, string] }[]).map((r) => r['Fn::GetAtt'][0]);
    const keptWarm = (resource: string) =>
      keptWarmFunctions().every((folder) => getAtt(resource).some((id) => id.startsWith(pascalCase(folder))));
    expect(invokes.filter(([role]) => !/^(Release|Rollback)Role/.test(role as string)).sort()).toEqual([
      [
        'Reconciler',
        expect.stringMatching(
          /^\[\{"Fn::GetAtt":\["StartRelease\w+","Arn"\]\},\{"Fn::GetAtt":\["AcquireLock\w+","Arn"\]\}\]$/,
        ),
      ],
      ['Reconciler', expect.any(String)],
      ['SlackInteractions', expect.stringMatching(/^\{"Fn::GetAtt":\["SlackDecisions\w+","Arn"\]\}$/)],
      ['StartRelease', expect.any(String)],
    ]);
    for (const [role, resource] of invokes.filter(
      ([role, resource]) =>
        role === 'StartRelease' || (role === 'Reconciler' && !/StartRelease/.test(resource as string)),
    )) {
      expect(getAtt(resource as string), role).toHaveLength(keptWarmFunctions().length);
      expect(keptWarm(resource as string), role).toBe(true);
    }
    // Every function the reconciler warms on every tick is one it may invoke.
    const reconcilerMay = invokes
      .filter(([role]) => role === 'Reconciler')
      .flatMap(([, r]) => getAtt(r as string));
    for (const folder of startChainFunctions)
      expect(
        reconcilerMay.some((id) => id.startsWith(pascalCase(folder))),
        folder,
      ).toBe(true);
  });

  it('keeps the release functions warm: the reconciler and start-release name them; a late or failed warm-up is dropped', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const named = (prefix: string) =>
      Object.entries(functions).find(([logical]) => logical.startsWith(prefix))?.[1].Properties;
    for (const prefix of ['Reconciler', 'StartRelease']) {
      const list = JSON.stringify(named(prefix)?.Environment.Variables.WARM_UP_FUNCTIONS);
      for (const folder of keptWarmFunctions())
        expect(list, `${prefix}: ${folder}`).toContain(`"Ref":"${pascalCase(folder)}`);
      // Lambda allows 4 KB of environment variables: with every name at its 64-character maximum.
      const variables = {
        ...named(prefix)?.Environment.Variables,
        WARM_UP_FUNCTIONS: 'x'.repeat(65 * keptWarmFunctions().length),
        ...(prefix === 'Reconciler'
          ? { WARM_ALWAYS_FUNCTIONS: 'x'.repeat(68 * startChainFunctions.length) }
          : {}),
      };
      const size = Object.entries(variables).reduce(
        (n, [k, v]) => n + k.length + (typeof v === 'string' ? v.length : 64),
        0,
      );
      expect(size, prefix).toBeLessThan(4096);
    }
    // The reconciler's every-tick list: a release's first functions, each by its own name.
    const always = JSON.stringify(named('Reconciler')?.Environment.Variables.WARM_ALWAYS_FUNCTIONS);
    for (const folder of startChainFunctions)
      expect(always, folder).toContain(`"Ref":"${pascalCase(folder)}`);
    expect(named('StartRelease')?.Environment.Variables.WARM_ALWAYS_FUNCTIONS).toBeUndefined();
    // The steps get asynchronous events only as warm-ups: no retries, and dropped after a minute.
    template.resourcePropertiesCountIs(
      'AWS::Lambda::EventInvokeConfig',
      { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      allFunctionFolders().length - eventFunctions.length - asyncFunctions.length,
    );
  });

  it('has no unacknowledged cdk-nag findings (AwsSolutions and Serverless packs)', () => {
    const report = JSON.parse(readFileSync(`${assembly.directory}/validation-report.json`, 'utf8'));
    expect(report.pluginReports).toEqual([]);
  });

  it('cdk-nag does fail a stack with an unacknowledged wildcard (the check can fail)', () => {
    const app = new App();
    const bad = new Stack(app, 'Bad');
    new Role(bad, 'R', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow();
  });
});

describe('synthesis of other targets configs', () => {
  it('synthesizes one target: no RDS rule or permissions', () => {
    const doc = JSON.parse(readFileSync(fixtureTargets, 'utf8'));
    const file = writeTargetsFile({ targets: [doc.targets[1]] }, 'one-target.json');
    const { template: one } = synth(file);
    // ECR, CloudTrail PutImage, ECS, ended executions, schedule, release requests (on Switchyard's bus)
    one.resourceCountIs('AWS::Events::Rule', 6);
    expect(JSON.stringify(one.toJSON())).not.toMatch(/"rds:[A-Z]/); // no RDS action anywhere
  });

  it('synthesizes three targets including an Aurora cluster', () => {
    const { template: three } = synth(threeTargets);
    const json = JSON.stringify(three.toJSON());
    expect(json).toContain('rds:CreateDBClusterSnapshot');
    expect(json).toContain(':cluster:ledger-aurora');
    expect(json).toContain(':service/finance/ledger-green');
    three.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { 'repository-name': ['checkout-api', 'search-api', 'ledger-api'] } },
    });
  });

  it("synthesizes a release group: its members' task events and deployments resume waits, each with a dead-letter queue", () => {
    const { template: group } = synth(
      fileURLToPath(new URL('../fixtures/targets-group.json', import.meta.url)),
    );
    const members = ['api', 'worker', 'beat'].flatMap((m) => [`bugs-${m}-blue`, `bugs-${m}-green`]);
    const rules = Object.values(group.findResources('AWS::Events::Rule')) as {
      Properties: { EventPattern?: Record<string, unknown>; Targets: Record<string, unknown>[] };
    }[];
    const tasks = rules.filter((r) =>
      JSON.stringify(r.Properties.EventPattern ?? {}).includes('ECS Task State Change'),
    );
    expect(tasks.map((r) => r.Properties.EventPattern)).toEqual([
      {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          // RUNNING: a colour scaled up has no deployment event; STOPPED: drained, or failed in a bake.
          lastStatus: ['RUNNING', 'STOPPED'],
          group: members.map((s) => `service:${s}`),
          clusterArn: [expect.objectContaining({ 'Fn::Join': expect.anything() })],
        },
      },
    ]);
    expect(tasks[0]?.Properties.Targets[0]).toMatchObject({ DeadLetterConfig: { Arn: expect.anything() } });
    // A member's new colour deploys like the primary's: its deployment events resume its wait.
    const deployments = rules.find((r) =>
      JSON.stringify(r.Properties.EventPattern ?? {}).includes('ECS Deployment State Change'),
    );
    const arns = JSON.stringify(deployments?.Properties.EventPattern?.resources ?? []);
    for (const service of members) expect(arns, service).toContain(`:service/prod/${service}"`);
  });

  it("synthesizes promotion: rules on Switchyard's own bus start promotions and requested releases, each with a dead-letter queue", () => {
    const { template: t } = synth(
      fileURLToPath(new URL('../fixtures/targets-promotion.json', import.meta.url)),
    );
    const rules = Object.values(t.findResources('AWS::Events::Rule')) as {
      Properties: {
        EventBusName?: unknown;
        EventPattern?: Record<string, unknown>;
        Targets: Record<string, unknown>[];
      };
    }[];
    const onBus = rules.filter((r) => r.Properties.EventBusName !== undefined);
    expect(onBus.map((r) => r.Properties.EventPattern)).toEqual([
      {
        source: ['switchyard'],
        'detail-type': ['Switchyard Release State Change'],
        // Only upstreams whose downstream promotes automatically (both links of the chain here).
        detail: { state: ['SoakCompleted'], target: ['shop-staging', 'shop-prod'] },
      },
      { 'detail-type': ['Switchyard Release Requested'] },
    ]);
    for (const rule of onBus) {
      expect(rule.Properties.EventBusName).toMatchObject({ Ref: expect.stringMatching(/^ReleaseEvents/) });
      expect(rule.Properties.Targets[0]).toMatchObject({ DeadLetterConfig: { Arn: expect.anything() } });
    }
    // Anyone else granted PutEvents (a CI) may not put Switchyard's own source on the bus.
    const busPolicies = Object.values(t.findResources('AWS::Events::EventBusPolicy')) as {
      Properties: {
        Statement: { Effect: string; Action: string; Condition: Record<string, Record<string, unknown>> };
      };
    }[];
    expect(busPolicies).toHaveLength(1);
    const deny = busPolicies[0]?.Properties.Statement;
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Action: 'events:PutEvents',
      Condition: { 'ForAnyValue:StringEquals': { 'events:source': ['switchyard'] } },
    });
    expect(Object.keys(deny?.Condition.ArnNotEquals ?? {})).toEqual(['aws:PrincipalArn']);
    expect((deny?.Condition.ArnNotEquals?.['aws:PrincipalArn'] as unknown[] | undefined)?.length).toBe(9);
    // The soak reads the upstreams' alarm history only (shop-eu promotes nothing).
    const history = JSON.stringify(
      Object.values(t.findResources('AWS::IAM::Policy'))
        .flatMap(
          (p) =>
            (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
              .Statement,
        )
        .filter((st) => actions(st).includes('cloudwatch:DescribeAlarmHistory'))
        .map(resources),
    );
    expect(history).not.toContain('shop-eu-5xx');
  });

  it('synthesizes analysis: GetMetricData for the watch (reconciler), AnalyseBake and AnalyseTestTraffic only, cdk-nag clean', () => {
    const { template: t, stack: s } = synth(
      fileURLToPath(new URL('../fixtures/targets-analysis.json', import.meta.url)),
    );
    const readers = Object.entries(t.findResources('AWS::IAM::Policy'))
      .filter(([, p]) =>
        (
          p as { Properties: { PolicyDocument: { Statement: Statement[] } } }
        ).Properties.PolicyDocument.Statement.some((st) => actions(st).includes('cloudwatch:GetMetricData')),
      )
      .flatMap(([, p]) =>
        (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.map((r) => r.Ref),
      );
    const roleOf = (folder: 'reconciler' | 'analyse-bake' | 'analyse-test-traffic') =>
      s.getLogicalId(s.functions[folder].role?.node.defaultChild as never);
    expect(readers.sort()).toEqual(
      [roleOf('analyse-bake'), roleOf('analyse-test-traffic'), roleOf('reconciler')].sort(),
    );
  });

  it('grants no GetMetricData to a stack whose targets have no analysis', () => {
    expect(JSON.stringify(template.toJSON())).not.toContain('cloudwatch:GetMetricData');
  });

  // What a user deploys: each example and the shipped targets file synthesizes with cdk-nag clean.
  // (Before: every file with hooks failed on the hook tasks' and log streams' run-time names.)
  it.each([
    'examples/reconciliation.json',
    'examples/bug-dedup.json',
    'examples/tiu-web.json',
    'examples/ticketing.json',
    'examples/ticket-analyzer.json',
    'local/targets.json',
  ])('synthesizes %s, cdk-nag clean', (file) => {
    const { template: t } = synth(fileURLToPath(new URL(`../../${file}`, import.meta.url)));
    expect(Object.keys(t.findResources('AWS::StepFunctions::StateMachine')).length).toBe(2);
  });

  it('Lambda hooks: the release state machine may invoke exactly the functions named, RecordLambdaHook read the alarms, cdk-nag clean', () => {
    const { template: t, stack: s } = synth(
      fileURLToPath(new URL('../fixtures/targets-hooks.json', import.meta.url)),
    );
    const statements = (role: string) =>
      Object.values(t.findResources('AWS::IAM::Policy'))
        .filter((p) =>
          (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.some((r) => r.Ref === role),
        )
        .flatMap(
          (p) =>
            (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
              .Statement,
        );
    const machineRole = s.getLogicalId(s.stateMachine.stateMachine.role.node.defaultChild as never);
    const invokes = JSON.stringify(
      statements(machineRole).filter((st) => actions(st).includes('lambda:InvokeFunction')),
    );
    expect(invokes).toContain('arn:aws:lambda:us-east-1:123456789012:function:edge-web-load');
    expect(invokes).toContain(':function:edge-web-smoke');
    expect(invokes).toContain(':function:edge-web-verify');
    expect(invokes).not.toContain('function:*');
    const recorder = s.getLogicalId(s.functions['record-lambda-hook'].role?.node.defaultChild as never);
    expect(
      JSON.stringify(statements(recorder).filter((st) => actions(st).includes('cloudwatch:DescribeAlarms'))),
    ).toContain('alarm:edge-web-5xx');
  });

  it('fails synthesis of an invalid config with a message naming the field', () => {
    const doc = JSON.parse(readFileSync(fixtureTargets, 'utf8'));
    delete doc.targets[0].ecs.services.green;
    const file = writeTargetsFile(doc, 'invalid.json');
    expect(() => synth(file)).toThrow(/targets\[0\]\.ecs\.services\.green/);
  });
});
