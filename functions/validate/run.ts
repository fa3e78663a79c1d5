import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import {
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describeFiring, readAlarms } from '../shared/alarms.ts';
import { analysisIssues, checksAt, When } from '../shared/analysis/config.ts';
import { checkText } from '../shared/analysis/text.ts';
import { findTarget, type Target } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { containerImage, describeServices, digestOf } from '../shared/ecs.ts';
import {
  AlarmTriggered,
  DigestAlreadyActive,
  ImageNotFound,
  InvalidInput,
  PromotionGateClosed,
  ResourceNotFound,
} from '../shared/errors.ts';
import { groupFields } from '../shared/group.ts';
import {
  allHooks,
  Compatibility,
  hookAction,
  migrationCompatibility,
  migrationText,
} from '../shared/hooks.ts';
import { judgeEarlierHooks, readEarlierHooks } from '../shared/migrations.ts';
import { notify } from '../shared/notifications.ts';
import { evidenceLines, promotionGate } from '../shared/promotion.ts';
import { takeReleaseTurns, waitingForTurn } from '../shared/registration-turns.ts';
import { settled } from '../shared/settled.ts';
import { planSteps } from '../shared/strategy.ts';
import { diffTaskDefinitions, type TaskDefinitionFile } from '../shared/task-definition.ts';
import { type ForwardState, liveColour, readWeights } from '../shared/traffic.ts';
import { otherColour } from '../shared/vocabulary.ts';
import { groupLines, planGroup } from './group.ts';
import { planHooks } from './hooks.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  | 'targets'
  | 'store'
  | 'ecr'
  | 'ecs'
  | 'elbv2'
  | 'cloudwatch'
  | 'sns'
  | 'secrets'
  | 'events'
  | 'eventBus'
  | 'now'
>;

/**
 * A release's own task definition: it must keep the target's container and pass only the roles the
 * stack may pass. Returns what it changes against the live one.
 */
const checkTaskDefinition = (
  target: Target,
  td: TaskDefinitionFile,
  live: TaskDefinition,
  service: Service,
): string[] => {
  const refuse = (why: string) => {
    throw new InvalidInput(`the release's task definition ${why}`);
  };
  // What the service needs of any definition it runs (UpdateService refuses, or tasks fail to start).
  const fargate =
    service.launchType === 'FARGATE' ||
    service.capacityProviderStrategy?.some((c) => c.capacityProvider?.startsWith('FARGATE'));
  if (fargate && !td.requiresCompatibilities?.includes('FARGATE'))
    refuse(
      `lacks requiresCompatibilities ["FARGATE"]: ${service.serviceName} runs on Fargate, and ECS would refuse the update`,
    );
  for (const lb of service.loadBalancers ?? []) {
    const container = td.containerDefinitions.find((c) => c.name === lb.containerName);
    const ports = ((container as ContainerDefinition | undefined)?.portMappings ?? []).map(
      (p) => p.containerPort,
    );
    if (!container || !ports.includes(lb.containerPort))
      refuse(
        `has no container "${lb.containerName}" with containerPort ${lb.containerPort}, which ${service.serviceName}'s load balancer sends traffic to`,
      );
  }
  const needsExecutionRole = td.containerDefinitions.some(
    (c) =>
      (c.secrets?.length ?? 0) > 0 ||
      (c as ContainerDefinition).logConfiguration?.logDriver === 'awslogs' ||
      /\.dkr\.ecr\./.test(c.image),
  );
  if (needsExecutionRole && !td.executionRoleArn)
    refuse(
      'has no executionRoleArn, but its containers pull from ECR, read secrets or log to CloudWatch: its tasks would not start',
    );
  if (!td.containerDefinitions.some((c) => c.name === target.ecs.container)) {
    throw new InvalidInput(
      `the release's task definition has no container "${target.ecs.container}" (${target.name}'s ecs.container)`,
    );
  }
  for (const [kind, role] of [
    ['task', td.taskRoleArn],
    ['execution', td.executionRoleArn],
  ] as const) {
    if (role && role !== target.ecs.roles[kind]) {
      throw new InvalidInput(
        `the release's task definition names ${kind} role ${role}, but ${target.name}'s ecs.roles.${kind} is ${target.ecs.roles[kind] ?? 'not set'}: ECS would refuse it to Switchyard (iam:PassRole). Set ecs.roles.${kind} and redeploy Switchyard, or keep the live role`,
      );
    }
  }
  return diffTaskDefinitions(live, td, target.ecs.container);
};

/** The release's image must be in the target's repository. */
const describeImage = async (target: Target, digest: string, deps: Deps) => {
  try {
    await deps.ecr.send(
      new DescribeImagesCommand({
        repositoryName: target.image.repository,
        imageIds: [{ imageDigest: digest }],
      }),
    );
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') {
      throw new ImageNotFound(
        `image ${digest} is not in ECR repository ${target.image.repository} (${name})`,
      );
    }
    throw error;
  }
};

/** A strategy given for this release only must still let the target's analysis judge it. */
const checkStrategy = (input: Input, target: Target) => {
  if (!input.strategy || !target.analysis) return;
  const issues = analysisIssues({ ...target, traffic: { ...target.traffic, strategy: input.strategy } });
  if (issues.length > 0)
    throw new InvalidInput(
      `this release's strategy (${input.strategy.type}) does not suit ${target.name}'s analysis: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
};

/**
 * Both of the target's target groups must exist. One that the rule's forward action names does:
 * "You can delete a target group if it is not referenced by any actions", else ResourceInUse
 * (docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteTargetGroup.html). So only
 * the others are described, and after Switchyard's first weight change the rule names both: no call.
 * At a platform-wide rebuild that is a call per release fewer on ELBv2's Describe rate, which every
 * release in the account shares (10 a second). A rule that could not be read proves nothing.
 */
const checkTargetGroups = async (target: Target, deps: Deps, rule: PromiseSettledResult<ForwardState>) => {
  const forward =
    rule.status === 'fulfilled' ? rule.value.actions.find((a) => a.Type === 'forward') : undefined;
  const named = [
    forward?.TargetGroupArn,
    ...(forward?.ForwardConfig?.TargetGroups ?? []).map((g) => g.TargetGroupArn),
  ];
  const unnamed = [target.traffic.targetGroups.blue, target.traffic.targetGroups.green].filter(
    (arn) => !named.includes(arn),
  );
  if (unnamed.length === 0) return;
  try {
    await deps.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: unnamed }));
  } catch (error) {
    if ((error as Error).name === 'TargetGroupNotFoundException') {
      throw new ResourceNotFound(
        `a target group of ${target.name} does not exist: ${(error as Error).message}`,
      );
    }
    throw error;
  }
};

/**
 * Checks everything the release will touch before it touches anything, reading AWS (never a
 * stored "active colour"), and returns the plan: which colour goes live and at what size.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const { cluster, services } = target.ecs;

  // The promotion gate first: only an image that earned it upstream (promotion.ts). It reads
  // Switchyard's own table (milliseconds), and a push to a repository a downstream target shares
  // starts a release there that the gate closes: that one must not spend the account's shared AWS
  // read rates. Break-glass passes a closed gate, and the record says which gate it passed and why.
  const [gate, release] = await Promise.all([
    promotionGate(target, input.image.digest, deps),
    // For the turns it may have taken already (registration-turns.ts).
    deps.store.getRelease(input.releaseId),
  ]);
  if (gate && !gate.open && !input.breakGlass) {
    // Still judged after the image and the strategy, as always.
    await describeImage(target, input.image.digest, deps);
    checkStrategy(input, target);
    throw new PromotionGateClosed(gate.reason);
  }
  const promotion = gate
    ? gate.open
      ? gate.evidence
      : { ...gate.evidence, overridden: gate.reason }
    : undefined;

  // Before any AWS read, the release's turns (to be validated, to register): at a platform-wide
  // rebuild, releases are validated and registered at the pace the account's API budget allows.
  // Recorded at once (a Validate run again keeps them): before waiting, or beside the reads below.
  // AcquireLock wrote the record before Validate runs; only a test calling Validate alone has none.
  const turns = await takeReleaseTurns(
    deps,
    release,
    target.group.map((m) => m.name),
  );
  const recording =
    release && turns.taken ? deps.store.updateRelease(input.releaseId, turns.taken) : Promise.resolve(true);
  if (turns.waitUntil) {
    await recording;
    return waitingForTurn(
      turns.waitUntil,
      '',
      'be validated (two releases a second, for ELBv2 and ECS reads)',
    );
  }

  // The AWS reads that need nothing from one another run side by side (one after another they were
  // about half of this step's time, on every release's way to its deployment); their verdicts are
  // judged in the order below, the order they used to run in.
  // One DescribeServices for both colours: service reads are shared by every release in the account.
  const servicesReading = describeServices(deps.ecs, cluster, [services.blue, services.green]);
  const weightsReading = readWeights(deps.elbv2, target.traffic);
  // The live colour (its rule's weights) and its service.
  const where = target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? '';
  const liveOf = ([blue, green]: Service[], weights: Parameters<typeof liveColour>[0]) => {
    const fromColour = liveColour(weights, where);
    return { fromColour, live: (fromColour === 'blue' ? blue : green) as Service };
  };
  // An earlier release's migration left to finish must stop before this one snapshots the database
  // or runs its own (shared/migrations.ts). Read with the others, judged last, once everything else
  // is known good (read after them it was 0.06-0.12 s more on the way to the snapshot). Reading it a
  // moment earlier changes nothing: the earlier release no longer holds the lock, so no new migration
  // of its can start but one whose RunTask was already in flight, and RunHook reads again for that.
  const hooksWhere = { cluster: target.ecs.cluster, target: target.name, releaseId: input.releaseId };
  const earlierHooksRead = allHooks(target.hooks).some((h) => h.migration)
    ? readEarlierHooks(deps, hooksWhere)
    : Promise.resolve(undefined);
  const [
    recorded,
    imageRead,
    servicesRead,
    weightsRead,
    membersRead,
    alarmsRead,
    liveDefinitionRead,
    earlierHooks,
  ] = await Promise.allSettled([
    recording,
    describeImage(target, input.image.digest, deps),
    servicesReading,
    weightsReading,
    // Every member of the group is checked before anything is touched, as the primary is.
    planGroup(target, input.image, deps),
    readAlarms(deps.cloudwatch, target.alarms),
    // The live colour's task definition as soon as the live colour is known (a group's members
    // take longer: it used to wait for them, about 0.1 s).
    Promise.all([servicesReading, weightsReading]).then(([read, { weights }]) => {
      const arn = liveOf(read, weights).live?.taskDefinition;
      return arn ? deps.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })) : undefined;
    }),
    earlierHooksRead,
  ]);
  settled(recorded);
  settled(imageRead);
  checkStrategy(input, target);

  const [blue, green] = settled(servicesRead) as [Service, Service];
  await checkTargetGroups(target, deps, weightsRead);

  const { fromColour, live } = liveOf([blue, green], settled(weightsRead).weights);
  const toColour = otherColour(fromColour);

  const liveTaskDefinition = live.taskDefinition;
  if (!liveTaskDefinition)
    throw new ResourceNotFound(`live service ${live.serviceName} has no task definition`);
  const described = settled(liveDefinitionRead) as DescribeTaskDefinitionCommandOutput;
  // A new revision passes the definition's roles to ECS: only the configured ones are granted.
  for (const [kind, role] of [
    ['task', described.taskDefinition?.taskRoleArn],
    ['execution', described.taskDefinition?.executionRoleArn],
  ] as const) {
    if (role && role !== target.ecs.roles[kind]) {
      throw new InvalidInput(
        `task definition ${liveTaskDefinition} names ${kind} role ${role}, but ${target.name}'s ecs.roles.${kind} is ${target.ecs.roles[kind] ?? 'not set'}: set it to ${role} and redeploy Switchyard, so its deploy step may pass that role to ECS`,
      );
    }
  }
  const image = containerImage(described.taskDefinition?.containerDefinitions, target.ecs.container);
  if (!image) {
    throw new ResourceNotFound(
      `container "${target.ecs.container}" is not in task definition ${liveTaskDefinition}`,
    );
  }
  const changes = input.taskDefinition
    ? checkTaskDefinition(target, input.taskDefinition, described.taskDefinition as TaskDefinition, live)
    : [];
  if (digestOf(image) === input.image.digest && changes.length === 0) {
    throw new DigestAlreadyActive(
      `${target.name} already serves ${input.image.digest} on ${fromColour}${input.taskDefinition ? ' with this task definition (nothing in it differs)' : ''}`,
    );
  }
  const desiredCount = live.desiredCount ?? 0;
  if (desiredCount < 1) {
    throw new ResourceNotFound(`live service ${live.serviceName} has desiredCount 0; nothing to match`);
  }
  const members = settled(membersRead);
  const { firing, missing } = settled(alarmsRead);
  if (missing.length > 0) {
    throw new ResourceNotFound(
      `CloudWatch has no alarm named ${missing.map((n) => `"${n}"`).join(', ')} (alarms of ${target.name})`,
    );
  }
  if (firing.length > 0) {
    throw new AlarmTriggered(
      `${describeFiring(firing)}: fix what it reports first, a release would be rolled back at once`,
    );
  }
  // Last, once everything else is known good: no earlier release's migration still running.
  const earlier = settled(earlierHooks);
  if (earlier) await judgeEarlierHooks(deps, hooksWhere, earlier, 'nothing was started');

  await deps.store.updateRelease(input.releaseId, {
    fromColour,
    toColour,
    previousTaskDefinitionArn: liveTaskDefinition,
    // The deploy step registers it from the record (the execution's input carries it too: a definition
    // is at most 64 KiB, inside the 256 KiB Step Functions allows for the whole state).
    ...(input.taskDefinition ? { taskDefinitionRequest: input.taskDefinition, changes } : {}),
    ...(members.length ? { members } : {}),
    ...(promotion ? { promotion } : {}),
  });

  const strategy = input.strategy ?? target.traffic.strategy;
  const steps = planSteps(strategy, target.bakeMinutes);
  // Hooks run the release's own definition when it brings one: checked against that one.
  const hooks = await planHooks(
    target,
    deps.ecs,
    live,
    input.taskDefinition
      ? ({
          ...input.taskDefinition,
          taskDefinitionArn: `the release's task definition (family ${input.taskDefinition.family})`,
        } as TaskDefinition)
      : (described.taskDefinition as TaskDefinition),
    strategy.type,
  );
  const migration = migrationCompatibility(target.hooks);
  const hookLines = allHooks(hooks).map(
    (h) => `Hook ${h.name} (${h.point}): ${hookAction(h)}, up to ${h.timeoutSeconds} s.`,
  );
  await notify(deps, target, {
    releaseId: input.releaseId,
    event: 'started',
    state: {
      name: 'Started',
      detail: {
        image: input.image,
        fromColour,
        toColour,
        strategy: strategy.type,
        steps: steps.map((s) => s.percent),
        ...(changes.length ? { changes } : {}),
        ...(input.breakGlass ? { breakGlass: input.breakGlass } : {}),
        ...(promotion ? { promotion } : {}),
      },
    },
    subject: `[switchyard] ${target.name} (${target.environment}) ${input.image.tag}: started`,
    lines: [
      `Release ${input.releaseId}: ${input.image.repository}:${input.image.tag} (${input.image.digest}) to ${toColour}.`,
      `Traffic: ${strategy.type}, ${steps.map((s) => `${s.percent}%`).join(' → ')}, ${fromColour} kept warm ${target.bakeMinutes} min after 100%.`,
      target.database
        ? `Database ${target.database.identifier} is snapshotted first (never restored automatically).`
        : 'No database.',
      ...(changes.length ? [`Task definition changes: ${changes.join('; ')}.`] : []),
      ...(promotion ? evidenceLines(promotion) : []),
      ...groupLines(members),
      ...hookLines,
      ...[migrationText(target.hooks)].filter((line) => line !== undefined),
      migration === Compatibility.Breaking
        ? `Rollback plan: after the migration, nothing is put back automatically; restore the snapshot, then \`switchyard rollback --target ${target.name} --force\`.`
        : `Rollback plan: weights back to ${fromColour} (verified), ${toColour} scaled to 0${members.length ? '; the whole group goes back with it (singletons one colour at a time)' : ''}.`,
      ...(target.alarms.length ? [`Watching alarms: ${target.alarms.join(', ')}.`] : []),
      ...(checksAt(target.analysis, When.TestTraffic).length
        ? [
            `Analysis of test traffic before any weight moves: ${checksAt(target.analysis, When.TestTraffic)
              .map(checkText)
              .join('; ')}.`,
          ]
        : []),
      ...(checksAt(target.analysis, When.Bakes).length
        ? [
            `Analysis each minute of every bake, and over each bake at its end: ${checksAt(
              target.analysis,
              When.Bakes,
            )
              .map((c) => checkText(c).replace('the old colour', fromColour))
              .join(
                '; ',
              )}; at 100% ${fromColour} serves nothing, so it is compared as it served in the previous step.`,
          ]
        : []),
      ...(input.breakGlass ? [`Break-glass: ${input.breakGlass.reason} (${input.breakGlass.by}).`] : []),
    ],
  });

  return {
    fromColour,
    toColour,
    cluster,
    fromService: services[fromColour],
    toService: services[toColour],
    container: target.ecs.container,
    desiredCount,
    fromTaskDefinitionArn: liveTaskDefinition,
    hasDatabase: target.database !== undefined,
    graceSeconds: target.health.graceSeconds,
    approvalSeconds: target.approval?.required ? target.approval.timeoutMinutes * 60 : 0,
    strategy: strategy.type,
    steps,
    hooks,
    changes,
    migration,
    // After a breaking migration the old version cannot serve: a failure holds traffic where it is.
    holdOnFailure: migration === Compatibility.Breaking,
    ...groupFields(members),
    // The new version is judged by the target's alarms before traffic moves and before the old colour goes.
    alarmsJudgeNewColour: true,
    analysisChecks: checksAt(target.analysis, When.Bakes).map((c) => c.name),
    testTrafficChecks: checksAt(target.analysis, When.TestTraffic).map((c) => c.name),
    // Checked again before traffic moves (RecheckPromotionGate); break-glass passed it for good.
    ...(target.promotesFrom && !input.breakGlass ? { promotesFrom: target.promotesFrom.target } : {}),
    ...(input.breakGlass ? { breakGlass: input.breakGlass } : {}),
  };
};
