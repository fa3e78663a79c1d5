import { DescribeImagesCommand, DescribeRepositoriesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Target } from '../shared/config.ts';
import { containerImage, describeServicesIn } from '../shared/ecs.ts';
import { ImageNotFound, InvalidInput, ResourceNotFound } from '../shared/errors.ts';
import { type Member, type MemberPlan, MemberRole } from '../shared/group.ts';
import { settled } from '../shared/settled.ts';
import { liveColour, readWeights } from '../shared/traffic.ts';
import { type Colour, otherColour } from '../shared/vocabulary.ts';

interface Aws {
  ecs: Pick<ECSClient, 'send'>;
  ecr: Pick<ECRClient, 'send'>;
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
}

/**
 * The live colour of a member without traffic: the one of its two services that runs. Both or
 * neither is a state no release should start from.
 */
const runningColour = (member: Member, blue: Service, green: Service): Colour => {
  const up = ([['blue', blue] as const, ['green', green] as const] as const).filter(
    ([, s]) => (s.desiredCount ?? 0) > 0,
  );
  if (up.length === 1) return (up[0] as readonly [Colour, Service])[0];
  const counts = `${blue.serviceName} desiredCount ${blue.desiredCount ?? 0}, ${green.serviceName} desiredCount ${green.desiredCount ?? 0}`;
  throw new InvalidInput(
    up.length === 0
      ? `group member ${member.name} runs neither colour (${counts}): scale the one that should run to its size, then release`
      : `group member ${member.name} runs both colours (${counts})${member.role === MemberRole.Singleton ? ', which a singleton must never do' : ''}: scale the one that should not run to 0, then release`,
  );
};

/**
 * Plans each member of the target's group before anything is touched: which colour is live (a web
 * member's from its rule's weights, the others' from which service runs), its size, its live task
 * definition (with the member's container and only the roles the stack may pass) and the image its
 * new colour runs, pinned by digest.
 */
export const planGroup = async (
  target: Target,
  image: { tag: string; digest: string },
  aws: Aws,
): Promise<MemberPlan[]> => {
  if (target.group.length === 0) return [];
  const { cluster } = target.ecs;
  const services = await describeServicesIn(
    aws.ecs,
    cluster,
    target.group.flatMap((m) => [m.services.blue, m.services.green]),
  );
  // One read per repository, shared by the members that use it (they are planned side by side).
  const uris = new Map<string, Promise<string>>();
  const uriOf = (repository: string) => {
    const known = uris.get(repository);
    if (known) return known;
    const read = aws.ecr
      .send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }))
      .then((out) => {
        const uri = out.repositories?.[0]?.repositoryUri;
        if (!uri) throw new ResourceNotFound(`ECR repository ${repository} not found`);
        return uri;
      });
    uris.set(repository, read);
    return read;
  };

  const planMember = async (member: Member): Promise<MemberPlan> => {
    const of = (colour: Colour) => {
      const name = member.services[colour];
      const found = services.find((s) => s.serviceName === name);
      if (!found)
        throw new ResourceNotFound(
          `ECS service ${name} (group member ${member.name}, ${colour}) not found in cluster ${cluster}`,
        );
      return found;
    };
    const [blue, green] = [of('blue'), of('green')];
    let fromColour: Colour;
    if (member.traffic) {
      const where = member.traffic.listenerRuleArn ?? member.traffic.listenerArn ?? '';
      fromColour = liveColour((await readWeights(aws.elbv2, member.traffic)).weights, where);
    } else fromColour = runningColour(member, blue, green);
    const live = fromColour === 'blue' ? blue : green;
    if (member.role !== MemberRole.Web && (live.loadBalancers?.length ?? 0) > 0)
      throw new InvalidInput(
        `group member ${member.name} is a ${member.role}, but ${live.serviceName} is behind a load balancer (${live.loadBalancers?.[0]?.targetGroupArn}): make it a web member with its traffic, or remove the load balancer`,
      );
    const desiredCount = live.desiredCount ?? 0;
    if (desiredCount < 1)
      throw new ResourceNotFound(
        `${live.serviceName} (group member ${member.name}) has desiredCount 0; nothing to match`,
      );
    if (!live.taskDefinition) throw new ResourceNotFound(`${live.serviceName} has no task definition`);
    const repository = member.repository ?? target.image.repository;
    // The repository's URI is read beside the checks below, and judged after them, as it always was:
    // a missing repository is reported by the image check (ImageNotFound). Handled here, so that a
    // check failing first leaves no rejection unhandled.
    const uriRead = uriOf(repository);
    uriRead.catch(() => undefined);
    const described = (
      await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: live.taskDefinition }))
    ).taskDefinition;
    if (!containerImage(described?.containerDefinitions, member.container))
      throw new InvalidInput(
        `group member ${member.name}'s container "${member.container}" is not in its task definition ${live.taskDefinition}: set group[].container to one of ${(described?.containerDefinitions ?? []).map((c) => c.name).join(', ')}`,
      );
    for (const [kind, role] of [
      ['task', described?.taskRoleArn],
      ['execution', described?.executionRoleArn],
    ] as const) {
      if (role && role !== target.ecs.roles[kind])
        throw new InvalidInput(
          `group member ${member.name}'s task definition ${live.taskDefinition} names ${kind} role ${role}, but ${target.name}'s ecs.roles.${kind} is ${target.ecs.roles[kind] ?? 'not set'}: a group's services share the target's roles, which the stack may pass to ECS`,
        );
    }
    let digest = image.digest;
    if (member.repository) {
      try {
        const out = await aws.ecr.send(
          new DescribeImagesCommand({
            repositoryName: member.repository,
            imageIds: [{ imageTag: image.tag }],
          }),
        );
        digest = out.imageDetails?.[0]?.imageDigest ?? '';
      } catch (error) {
        const name = (error as Error).name;
        if (name !== 'ImageNotFoundException' && name !== 'RepositoryNotFoundException') throw error;
        digest = '';
      }
      if (!digest)
        throw new ImageNotFound(
          `group member ${member.name}'s repository ${member.repository} has no image tagged ${image.tag}: push it (tagged ${image.tag}) before releasing the group, so every service moves to the same version`,
        );
    }
    const uri = await uriRead;
    const toColour = otherColour(fromColour);
    return {
      name: member.name,
      role: member.role,
      ...(member.role === MemberRole.Worker ? { switch: member.switch ?? 'promotion' } : {}),
      cluster,
      fromColour,
      toColour,
      fromService: member.services[fromColour],
      toService: member.services[toColour],
      container: member.container,
      desiredCount,
      fromTaskDefinitionArn: live.taskDefinition,
      image: `${uri}@${digest}`,
      ...(member.traffic
        ? {
            traffic: {
              ...(member.traffic.listenerRuleArn ? { listenerRuleArn: member.traffic.listenerRuleArn } : {}),
              ...(member.traffic.listenerArn ? { listenerArn: member.traffic.listenerArn } : {}),
              targetGroups: member.traffic.targetGroups,
            },
          }
        : {}),
    };
  };

  // The members' reads need nothing from one another: side by side (one member after another they
  // were about 0.25 s of a three-member group's way to its deployment). Judged in the group's order,
  // so a group with several problems reports the same first one.
  const planned = await Promise.allSettled(target.group.map(planMember));
  return planned.map(settled);
};

/** One line per member for the started notice and the plan. */
export const groupLines = (members: MemberPlan[]): string[] =>
  members.map(
    (m) =>
      `Group: ${m.name} (${m.role}${m.switch ? `, ${m.switch}` : ''}) ${m.fromService} → ${m.toService}, ${m.desiredCount} task(s)` +
      (m.role === MemberRole.Singleton
        ? ': deployed at 0; at 100% the old one stops (every task STOPPED) before the new one starts.'
        : m.role === MemberRole.Worker && m.switch === 'cutover'
          ? ': starts with the deploy; the old one stops at 100%.'
          : m.role === MemberRole.Worker
            ? ': starts with the deploy; the old one runs until promotion.'
            : ': weights move with the primary, step by step.'),
  );
