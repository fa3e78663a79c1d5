/**
 * Builds, in the simulated account, the AWS resources a target names: cluster, the two services
 * (the live colour at the current image, the idle one at 0), target groups, load balancer,
 * listener/rule at 100/0, test listener, database, SNS topic, CloudWatch alarms. Any targets file
 * can be simulated.
 */

import type { Target } from '../functions/shared/config.ts';
import { allHooks, hookGroup } from '../functions/shared/hooks.ts';
import type { TargetGroupSettings } from './account/elbv2.ts';
import type { SimulatedAccount } from './account/index.ts';

export interface WorldOptions {
  /** Tag currently live (pushed silently before time starts). */
  liveTag: string;
  liveColour?: 'blue' | 'green';
  tasks?: number;
  databaseStorageGb?: number;
  /**
   * The target groups' health-check and deregistration settings. Unset, ELBv2's defaults apply
   * (30 s × 5 to turn healthy, 300 s draining), as for a target group nobody tuned.
   */
  targetGroup?: TargetGroupSettings;
  /** The load balancer's scheme and VPC (default: internal in the target's `network` VPC, if it names one). */
  loadBalancer?: { scheme?: 'internet-facing' | 'internal'; vpcId?: string };
  /**
   * Real users' requests per second on the target's listener (default 20 for a target with
   * analysis or a latency alarm, which judge that traffic; none otherwise).
   */
  requestsPerSecond?: number;
  /**
   * What each of the target's alarms watches, by name: a latency alarm (`latency-p95`, ALARM above
   * `thresholdMs`). Unlisted alarms watch the listener's 5xx share (threshold 1%).
   */
  alarmMetrics?: Record<string, { kind: 'latency-p95'; thresholdMs: number }>;
}

/**
 * What the demo and the test worlds set on their own target groups, as a user tuning for fast
 * deployments would (each is a documented ELBv2 setting: 10 s interval, 3 healthy checks, 30 s
 * deregistration delay). Worlds that leave them unset get AWS's defaults.
 */
export const FAST_TARGET_GROUPS: TargetGroupSettings = {
  intervalSeconds: 10,
  healthyThreshold: 3,
  unhealthyThreshold: 2,
  deregistrationDelaySeconds: 30,
};

/** `…:listener/app/<lb>/<id>/<listener>` or `…:listener-rule/app/<lb>/<id>/<listener>/<rule>` → the LB's ARN. */
const loadBalancerArnOf = (arn: string) => {
  const [prefix, path] = arn.split(/:listener(?:-rule)?\//) as [string, string];
  const [kind, name, id] = path.split('/');
  return { arn: `${prefix}:loadbalancer/${kind}/${name}/${id}`, name: name as string };
};
const listenerArnOfRule = (ruleArn: string) =>
  ruleArn.replace(':listener-rule/', ':listener/').split('/').slice(0, -1).join('/');

/** Fargate services run in the target's subnets (private, no public IP) when it names them. */
const networkOf = (target: Target) => ({
  awsvpcConfiguration: {
    subnets: target.network?.subnets ?? ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
    securityGroups: target.network?.securityGroups ?? ['sg-0a1b2c3d4e5f60001'],
    assignPublicIp: 'DISABLED',
  },
});

export const buildWorld = (account: SimulatedAccount, target: Target, options: WorldOptions) => {
  const live = options.liveColour ?? 'blue';
  const idle = live === 'blue' ? 'green' : 'blue';
  const tasks = options.tasks ?? 4;

  const uri =
    account.ecr.repositories.get(target.image.repository)?.uri ??
    account.ecr.addRepository(target.image.repository);
  const { digest } = account.ecr.push(target.image.repository, options.liveTag, { silent: true });

  account.ecs.addCluster(target.ecs.cluster);
  // The user's own functions its Lambda hooks name.
  for (const hook of allHooks(target.hooks))
    if (hook.lambda) account.hookFunctions.add(hook.lambda.functionName);
  const taskDefinition = account.ecs.registerTaskDefinition({
    family: target.name,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '512',
    memory: '1024',
    ...(target.ecs.roles.task ? { taskRoleArn: target.ecs.roles.task } : {}),
    ...(target.ecs.roles.execution ? { executionRoleArn: target.ecs.roles.execution } : {}),
    containerDefinitions: [
      {
        name: target.ecs.container,
        image: `${uri}@${digest}`,
        essential: true,
        portMappings: [{ containerPort: 8080 }],
        // As the ECS console's task definitions log: to /ecs/<family>, stream prefix "ecs".
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': `/ecs/${target.name}`,
            'awslogs-region': account.region,
            'awslogs-stream-prefix': 'ecs',
          },
        },
      },
    ],
  });
  account.logs.addLogGroup(`/ecs/${target.name}`);

  const { traffic } = target;
  const mainWhere = traffic.listenerRuleArn ?? traffic.listenerArn ?? '';
  const lb = loadBalancerArnOf(mainWhere);
  if (!account.elbv2.loadBalancers.has(lb.arn))
    account.elbv2.addLoadBalancer(lb.arn, lb.name, `${lb.name}.${account.region}.elb.amazonaws.com`, {
      // A target that names its network is modelled behind an internal load balancer in that VPC.
      scheme: options.loadBalancer?.scheme ?? (target.network ? 'internal' : 'internet-facing'),
      vpcId: options.loadBalancer?.vpcId ?? target.network?.vpcId,
    });
  for (const colour of ['blue', 'green'] as const) {
    account.elbv2.addTargetGroup(traffic.targetGroups[colour], `${target.name}-${colour}`.slice(0, 32), {
      healthCheckPath: target.health.path,
      ...options.targetGroup,
    });
  }
  const forward = {
    Type: 'forward' as const,
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: traffic.targetGroups.blue, Weight: live === 'blue' ? 100 : 0 },
        { TargetGroupArn: traffic.targetGroups.green, Weight: live === 'green' ? 100 : 0 },
      ],
    },
  };
  if (traffic.listenerRuleArn) {
    const listenerArn = listenerArnOfRule(traffic.listenerRuleArn);
    if (!account.elbv2.listeners.has(listenerArn)) {
      account.elbv2.addListener(listenerArn, lb.arn, 443, [
        { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } },
      ]);
    }
    account.elbv2.addRule(traffic.listenerRuleArn, listenerArn, '10', [forward]);
  } else if (traffic.listenerArn) {
    account.elbv2.addListener(traffic.listenerArn, lb.arn, 443, [forward]);
  }
  if (traffic.testListenerArn) {
    account.elbv2.addListener(traffic.testListenerArn, lb.arn, 8443, [
      { Type: 'forward', TargetGroupArn: traffic.targetGroups[idle] },
    ]);
  }

  for (const colour of ['blue', 'green'] as const) {
    account.ecs.addService({
      cluster: target.ecs.cluster,
      name: target.ecs.services[colour],
      taskDefinition: taskDefinition.taskDefinitionArn as string,
      desiredCount: colour === live ? tasks : 0,
      targetGroupArn: traffic.targetGroups[colour],
      containerName: target.ecs.container,
      containerPort: 8080,
      networkConfiguration: networkOf(target),
    });
  }

  buildGroup(account, target, live, tasks, options, lb.arn, digest);

  if (target.database?.kind === 'instance')
    account.rds.addInstance(target.database.identifier, options.databaseStorageGb ?? 200);
  if (target.database?.kind === 'cluster')
    account.rds.addCluster(target.database.identifier, options.databaseStorageGb ?? 200);
  account.sns.addTopic(target.notify.sns);
  // What an operator does for approval emails: verify the sender in SES and, while the account is
  // in the SES sandbox (a new account is), each approver's address too.
  if (target.approval?.emailFrom) {
    account.ses.verify(target.approval.emailFrom);
    for (const approver of target.approval.approvers) account.ses.verify(approver.id);
  }
  // Each watched alarm measures the 5xx share of the target's live listener/rule (threshold 1%),
  // or its p95 latency where the world says so (alarmMetrics).
  for (const alarm of target.alarms) {
    if (!account.cloudwatch.alarms.has(alarm)) {
      const metric = options.alarmMetrics?.[alarm];
      account.cloudwatch.addAlarm(
        alarm,
        metric ? { where: mainWhere, ...metric } : { where: mainWhere, thresholdPercent: 1 },
      );
    }
  }
  if (target.analysis || options.requestsPerSecond || Object.keys(options.alarmMetrics ?? {}).length)
    account.traffic.serve(mainWhere, options.requestsPerSecond ?? 20);
  return { liveDigest: digest, taskDefinitionArn: taskDefinition.taskDefinitionArn as string };
};

/**
 * The target's group (functions/shared/group.ts): each member's two services in the target's
 * cluster, the live colour at the live tag (a singleton at 1 task), the idle one at 0; a web
 * member's target groups and rule on the primary's load balancer; workers and singletons without
 * a load balancer. A member with its own repository gets the live tag pushed there too.
 */
const buildGroup = (
  account: SimulatedAccount,
  target: Target,
  live: 'blue' | 'green',
  tasks: number,
  options: WorldOptions,
  loadBalancerArn: string,
  liveDigest: string,
) => {
  for (const member of target.group) {
    const repository = member.repository ?? target.image.repository;
    const uri = account.ecr.repositories.get(repository)?.uri ?? account.ecr.addRepository(repository);
    const digest = member.repository
      ? account.ecr.push(repository, options.liveTag, { silent: true }).digest
      : liveDigest;
    const family = `${target.name}-${member.name}`;
    const definition = account.ecs.registerTaskDefinition({
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      ...(target.ecs.roles.task ? { taskRoleArn: target.ecs.roles.task } : {}),
      ...(target.ecs.roles.execution ? { executionRoleArn: target.ecs.roles.execution } : {}),
      containerDefinitions: [
        {
          name: member.container,
          image: `${uri}@${digest}`,
          essential: true,
          ...(member.traffic ? { portMappings: [{ containerPort: 8080 }] } : {}),
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': `/ecs/${target.name}`,
              'awslogs-region': account.region,
              'awslogs-stream-prefix': member.name,
            },
          },
        },
      ],
    });
    if (member.traffic) {
      for (const colour of ['blue', 'green'] as const)
        account.elbv2.addTargetGroup(
          member.traffic.targetGroups[colour],
          `${family}-${colour}`.slice(0, 32),
          {
            healthCheckPath: target.health.path,
            ...options.targetGroup,
          },
        );
      const forward = {
        Type: 'forward' as const,
        ForwardConfig: {
          TargetGroups: (['blue', 'green'] as const).map((colour) => ({
            TargetGroupArn: member.traffic?.targetGroups[colour] as string,
            Weight: colour === live ? 100 : 0,
          })),
        },
      };
      if (member.traffic.listenerRuleArn) {
        const listenerArn = listenerArnOfRule(member.traffic.listenerRuleArn);
        if (!account.elbv2.listeners.has(listenerArn))
          account.elbv2.addListener(listenerArn, loadBalancerArn, 443, [
            { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } },
          ]);
        account.elbv2.addRule(
          member.traffic.listenerRuleArn,
          listenerArn,
          String(20 + target.group.indexOf(member)),
          [forward],
        );
      } else if (member.traffic.listenerArn) {
        account.elbv2.addListener(member.traffic.listenerArn, loadBalancerArn, 443, [forward]);
      }
    }
    for (const colour of ['blue', 'green'] as const) {
      account.ecs.addService({
        cluster: target.ecs.cluster,
        name: member.services[colour],
        taskDefinition: definition.taskDefinitionArn as string,
        desiredCount: colour === live ? (member.role === 'singleton' ? 1 : tasks) : 0,
        ...(member.traffic ? { targetGroupArn: member.traffic.targetGroups[colour] } : {}),
        containerName: member.container,
        containerPort: 8080,
        networkConfiguration: networkOf(target),
      });
    }
  }
};

/**
 * Serves the target's loopback endpoints: its test listener (CheckHealth probes it) and, when it
 * has webhook secrets, the Slack/Teams receiver, whose URLs the secrets then hold.
 */
export const serveTestListener = async (account: SimulatedAccount, target: Target) => {
  if (target.traffic.testListenerArn) {
    await account.elbv2.serveListener(target.traffic.testListenerArn);
    // The target's load-test hooks send their requests through it (task-programs.ts).
    account.traffic.testListeners.set(hookGroup(target.name), target.traffic.testListenerArn);
  }
  const hooks = [
    ['slack', target.notify.slackWebhookSecret],
    ['teams', target.notify.teamsWebhookSecret],
  ] as const;
  for (const [channel, secret] of hooks) {
    if (!secret) continue;
    await account.webhooks.start();
    account.secrets.put(secret, account.webhooks.url(`/${channel}/${target.name}`));
  }
};

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * A platform of `count` targets (`svc-001`, …) in one cluster behind one ALB, each with its own
 * services, listener rule, target groups and database, and a 5-minute bake: the scale run's
 * platform-wide rebuild (bench/scale.ts), and the tests of many releases at once.
 */
export const platformTargets = (count: number) => {
  const alb = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
  return Array.from({ length: count }, (_, i) => {
    const name = `svc-${String(i + 1).padStart(3, '0')}`;
    return {
      name,
      environment: 'prod',
      image: { repository: name, tagPattern: 'v\\d+' },
      ecs: { cluster: 'prod', services: { blue: `${name}-blue`, green: `${name}-green` }, container: 'app' },
      traffic: {
        listenerRuleArn: `${alb}:listener-rule/app/prod-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/${hex(i + 1, 16)}`,
        targetGroups: {
          blue: `${alb}:targetgroup/${name}-blue/${hex(2 * i + 1, 16)}`,
          green: `${alb}:targetgroup/${name}-green/${hex(2 * i + 2, 16)}`,
        },
      },
      database: { kind: 'instance', identifier: `${name}-db` },
      bakeMinutes: 5,
      notify: { sns: 'arn:aws:sns:us-east-1:123456789012:switchyard-releases' },
    };
  });
};
