import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { Target } from '../shared/config.ts';
import { InvalidInput, ResourceNotFound } from '../shared/errors.ts';
import {
  type AnyHookPlan,
  Compatibility,
  HOOK_POINTS,
  type HookPoint,
  lambdaHookPlan,
} from '../shared/hooks.ts';

/**
 * The hooks' plans, checked against AWS before anything is touched: each hook's container is in
 * the task definition it runs, a load test's container logs to CloudWatch (its figures are read
 * from there), and a named task definition passes only roles the stack may pass. A hook runs where
 * the live service runs: the same launch type or capacity providers, platform and network.
 */
export const planHooks = async (
  target: Target,
  ecs: Pick<ECSClient, 'send'>,
  live: Service,
  liveDefinition: TaskDefinition,
  strategy: string,
): Promise<Record<HookPoint, AnyHookPlan[]>> => {
  const launch: Record<string, unknown> = {
    ...(live.capacityProviderStrategy?.length
      ? { capacityProviderStrategy: live.capacityProviderStrategy }
      : { launchType: live.launchType ?? 'FARGATE' }),
    ...(live.platformVersion ? { platformVersion: live.platformVersion } : {}),
    ...(live.networkConfiguration ? { networkConfiguration: live.networkConfiguration } : {}),
  };
  const named = new Map<string, TaskDefinition>();
  const definitionOf = async (name: string, field: string): Promise<TaskDefinition> => {
    const known = named.get(name);
    if (known) return known;
    try {
      const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: name }));
      if (!out.taskDefinition) throw new Error('no task definition in the answer');
      named.set(name, out.taskDefinition);
      return out.taskDefinition;
    } catch (error) {
      if ((error as Error).name === 'ClientException')
        throw new InvalidInput(`${field}: ECS has no task definition ${name} (${(error as Error).message})`);
      throw error;
    }
  };
  const plans: Record<HookPoint, AnyHookPlan[]> = { preDeploy: [], preTraffic: [], postTraffic: [] };
  for (const point of HOOK_POINTS) {
    for (const [i, hook] of target.hooks[point].entries()) {
      const field = `${target.name}: hooks.${point}[${i}] (${hook.name})`;
      if (hook.migration?.compatibility === Compatibility.Breaking && strategy !== 'all-at-once') {
        throw new InvalidInput(
          `${field} is a breaking migration, which needs the all-at-once strategy (this release asks for ${strategy}): once it has run, the old version cannot serve. Release all at once`,
        );
      }
      // A Lambda hook: the state machine invokes the function (functions/record-lambda-hook).
      const invoked = lambdaHookPlan(hook, point);
      if (invoked || !hook.task) {
        if (invoked) plans[point].push(invoked);
        continue;
      }
      const definition = hook.task.taskDefinition
        ? await definitionOf(hook.task.taskDefinition, `${field}.task.taskDefinition`)
        : liveDefinition;
      const container = hook.task.container ?? target.ecs.container;
      const found = definition.containerDefinitions?.find((c) => c.name === container);
      if (!found) {
        const names = (definition.containerDefinitions ?? []).map((c) => c.name).join(', ');
        throw new InvalidInput(
          `${field}.task.container: "${container}" is not a container of task definition ${definition.taskDefinitionArn} (it has: ${names}); name one of those`,
        );
      }
      // The task stops when its essential container does: a non-essential one would wait for the rest.
      if (found.essential === false) {
        throw new InvalidInput(
          `${field}.task.container: "${container}" is not essential in ${definition.taskDefinitionArn}: the task would not stop when the hook's command ends. Name an essential container, or a task definition for the hook`,
        );
      }
      if (hook.task.taskDefinition) {
        for (const [kind, role] of [
          ['task', definition.taskRoleArn],
          ['execution', definition.executionRoleArn],
        ] as const) {
          if (role && role !== target.ecs.roles[kind]) {
            throw new InvalidInput(
              `${field}.task.taskDefinition: ${definition.taskDefinitionArn} names ${kind} role ${role}, but ecs.roles.${kind} is ${target.ecs.roles[kind] ?? 'not set'}: the hook could not be started (iam:PassRole). Use a definition with the target's roles`,
            );
          }
        }
      }
      const options =
        found.logConfiguration?.logDriver === 'awslogs' ? found.logConfiguration.options : undefined;
      const group = options?.['awslogs-group'];
      if (hook.thresholds && group && !options?.['awslogs-stream-prefix']) {
        throw new InvalidInput(
          `${field}.thresholds: container "${container}" of ${definition.taskDefinitionArn} logs without awslogs-stream-prefix, so its task's log stream cannot be found (awslogs names it <prefix>/<container>/<task id>). Add a stream prefix`,
        );
      }
      if (hook.thresholds && group !== target.ecs.logGroup) {
        throw new InvalidInput(
          group
            ? `${field}.thresholds: container "${container}" of ${definition.taskDefinitionArn} logs to ${group}, but ecs.logGroup is ${target.ecs.logGroup}: the figures could not be read. Set ecs.logGroup to ${group}`
            : `${field}.thresholds: container "${container}" of ${definition.taskDefinitionArn} does not log to CloudWatch Logs (logConfiguration awslogs with awslogs-group), so the figures it reports cannot be read. Add an awslogs log configuration`,
        );
      }
      if (!definition.taskDefinitionArn)
        throw new ResourceNotFound(`${field}: task definition without an ARN`);
      plans[point].push({
        name: hook.name,
        point,
        cluster: target.ecs.cluster,
        ...(hook.task.taskDefinition ? { taskDefinition: definition.taskDefinitionArn } : {}),
        container,
        command: hook.task.command,
        environment: Object.entries(hook.task.environment).map(([name, value]) => ({ name, value })),
        timeoutSeconds: hook.timeoutSeconds,
        launch,
        ...(group
          ? {
              log: {
                group,
                streamPrefix: options?.['awslogs-stream-prefix'],
                region: options?.['awslogs-region'] ?? '',
              },
            }
          : {}),
        ...(hook.migration ? { migration: hook.migration } : {}),
        ...(hook.thresholds ? { thresholds: hook.thresholds } : {}),
      });
    }
  }
  return plans;
};
