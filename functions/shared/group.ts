/**
 * Release groups: services released together with the target's own (its `ecs` + `traffic`, the
 * primary), from the release's image or from their own repository at the release's tag. Each member
 * has two colours (blue/green services) and a role:
 * - `web`: behind its own ALB rule; its weights move in lockstep with the primary's, step by step.
 * - `worker`: no traffic. Its new colour starts with the deploy and the old one runs until promotion
 *   (`switch: promotion`), or stops when traffic reaches 100% (`switch: cutover`).
 * - `singleton`: never two colours running at once (a scheduler such as Celery beat). Its new colour
 *   is deployed at 0; when traffic reaches 100% the old one is scaled to 0, every one of its tasks is
 *   waited for until STOPPED, and only then does the new one start. A rollback does the same backwards.
 * The state machine runs each member's steps in a Map over the plan's members (DeployGroup,
 * CutOverGroup, ScaleDownGroup, CleanUpGroup, RollBackGroup), one function per step.
 */

import type { Service } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import type { Deployment } from './ecs.ts';
import { ENDED } from './halt.ts';

export const MemberRole = {
  Web: 'web',
  Worker: 'worker',
  Singleton: 'singleton',
} as const;
export type MemberRole = (typeof MemberRole)[keyof typeof MemberRole];

export const WorkerSwitch = {
  /** Both colours run until promotion, then the old one scales to 0 with the primary's. */
  Promotion: 'promotion',
  /** The old colour scales to 0 when traffic reaches 100% (the new one runs from the deploy). */
  Cutover: 'cutover',
} as const;

const serviceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'must be 1-255 letters, digits, "-" or "_"');
const elbArn = (what: string) =>
  z
    .string()
    .regex(
      new RegExp(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\\d{12}:${what}/.+$`),
      `must be a ${what} ARN`,
    );

export const memberSchema = z.strictObject({
  /** Names the member in the plan, the record, notifications and `switchyard describe`. */
  name: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,29}$/,
      'must be lowercase letters, digits and "-", starting with a letter, max 30',
    ),
  role: z.enum([MemberRole.Web, MemberRole.Worker, MemberRole.Singleton]),
  /** Its two ECS services, in the target's cluster. */
  services: z.strictObject({ blue: serviceName, green: serviceName }),
  /** The container whose image the release replaces. */
  container: serviceName,
  /**
   * The ECR repository of its image, when it is not the target's: the release's tag is looked up
   * there and pinned by digest (one image per service, built and tagged together).
   */
  repository: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._/-]{1,255}$/, 'must be an ECR repository name')
    .optional(),
  /** A web member's own rule (or listener) and target groups. Only web members have traffic. */
  traffic: z
    .strictObject({
      listenerArn: elbArn('listener').optional(),
      listenerRuleArn: elbArn('listener-rule').optional(),
      targetGroups: z.strictObject({ blue: elbArn('targetgroup'), green: elbArn('targetgroup') }),
    })
    .refine((t) => (t.listenerArn === undefined) !== (t.listenerRuleArn === undefined), {
      message: 'set exactly one of listenerArn (default action) or listenerRuleArn',
    })
    .optional(),
  /** Workers only: when the old colour stops (default promotion). */
  switch: z.enum([WorkerSwitch.Promotion, WorkerSwitch.Cutover]).optional(),
});
export type Member = z.infer<typeof memberSchema>;

/** Services released with the target's own (at most 9: with the primary, one DescribeServices call). */
export const groupSchema = z.array(memberSchema).max(9).default([]);

interface GroupTarget {
  name: string;
  ecs: { services: { blue: string; green: string } };
  traffic: {
    listenerArn?: string | undefined;
    listenerRuleArn?: string | undefined;
    targetGroups: { blue: string; green: string };
  };
  group: Member[];
}

/** What a target's group may not be, beyond each member's own schema: `path` is under the target. */
export const groupIssues = (target: GroupTarget): { path: (string | number)[]; message: string }[] => {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const names = new Map<string, string>([[target.name, 'the target itself (its primary service)']]);
  const services = new Map<string, string>([
    [target.ecs.services.blue, 'ecs.services.blue'],
    [target.ecs.services.green, 'ecs.services.green'],
  ]);
  const rules = new Map<string, string>([
    [target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? '', 'traffic'],
  ]);
  const groups = new Map<string, string>([
    [target.traffic.targetGroups.blue, 'traffic.targetGroups.blue'],
    [target.traffic.targetGroups.green, 'traffic.targetGroups.green'],
  ]);
  target.group.forEach((member, i) => {
    const at = (...path: (string | number)[]) => ['group', i, ...path];
    const first = names.get(member.name);
    if (first)
      issues.push({
        path: at('name'),
        message: `"${member.name}" is also ${first}: each member needs its own name`,
      });
    else names.set(member.name, `group[${i}]`);
    for (const colour of ['blue', 'green'] as const) {
      const service = member.services[colour];
      const owner = services.get(service);
      if (owner)
        issues.push({
          path: at('services', colour),
          message: `${service} is also ${owner}: each colour of each member is its own ECS service`,
        });
      else services.set(service, `group[${i}].services.${colour}`);
    }
    if (member.role === MemberRole.Web && !member.traffic)
      issues.push({
        path: at('traffic'),
        message: 'a web member needs traffic: its own listenerRuleArn (or listenerArn) and target groups',
      });
    if (member.role !== MemberRole.Web && member.traffic)
      issues.push({
        path: at('traffic'),
        message:
          member.role === MemberRole.Singleton
            ? 'a singleton takes no traffic: a load balancer would send requests to it while its colours change over. Remove traffic, or make it a web member'
            : 'a worker takes no traffic: remove traffic, or make it a web member',
      });
    if (member.switch && member.role !== MemberRole.Worker)
      issues.push({ path: at('switch'), message: 'switch applies to workers only' });
    if (member.traffic) {
      const where = member.traffic.listenerRuleArn ?? member.traffic.listenerArn ?? '';
      const rule = rules.get(where);
      if (rule)
        issues.push({
          path: at('traffic', member.traffic.listenerRuleArn ? 'listenerRuleArn' : 'listenerArn'),
          message: `${where} is also ${rule}'s: two web services sharing a rule would each overwrite the other's weights. Give each its own listener rule`,
        });
      else rules.set(where, `group[${i}].traffic`);
      for (const colour of ['blue', 'green'] as const) {
        const arn = member.traffic.targetGroups[colour];
        const owner = groups.get(arn);
        if (owner)
          issues.push({
            path: at('traffic', 'targetGroups', colour),
            message: `${arn} is also ${owner}: each colour of each web service needs its own target group`,
          });
        else groups.set(arn, `group[${i}].traffic.targetGroups.${colour}`);
      }
    }
  });
  return issues;
};

const memberTrafficSchema = z.object({
  listenerArn: z.string().optional(),
  listenerRuleArn: z.string().optional(),
  targetGroups: z.object({ blue: z.string(), green: z.string() }),
});

/** A member as Validate planned it: which colour goes live, at what size, with which image. */
export const memberPlanSchema = z.object({
  name: z.string(),
  role: z.enum([MemberRole.Web, MemberRole.Worker, MemberRole.Singleton]),
  /** Workers: when the old colour stops. */
  switch: z.enum([WorkerSwitch.Promotion, WorkerSwitch.Cutover]).optional(),
  cluster: z.string(),
  fromColour: z.enum(['blue', 'green']),
  toColour: z.enum(['blue', 'green']),
  fromService: z.string(),
  toService: z.string(),
  container: z.string(),
  desiredCount: z.number().int().positive(),
  fromTaskDefinitionArn: z.string(),
  /** The image the new colour runs, pinned by digest (`<repository uri>@sha256:…`). */
  image: z.string(),
  traffic: memberTrafficSchema.optional(),
});
export type MemberPlan = z.infer<typeof memberPlanSchema>;

/** What a member's step did to one of its colours, with a line for the audit trail. */
export interface MemberStepOutput extends Deployment {
  summary: string;
}

/** A member step that changed nothing: the release already had its outcome (halt.ts: ENDED). */
export const leftAsItIs = (
  member: Pick<MemberPlan, 'name' | 'role' | 'cluster'>,
  service: string,
  described: Pick<Service, 'taskDefinition' | 'desiredCount'>,
): MemberStepOutput => ({
  cluster: member.cluster,
  service,
  taskDefinitionArn: described.taskDefinition ?? '',
  desiredCount: described.desiredCount ?? 0,
  summary: `${member.name} (${member.role}): ${service} left as it is: ${ENDED}`,
});

/** Whether a member changes colour when traffic reaches 100% (CutOverGroup). */
export const switchesAtCutover = (member: Pick<MemberPlan, 'role' | 'switch'>): boolean =>
  member.role === MemberRole.Singleton ||
  (member.role === MemberRole.Worker && member.switch === WorkerSwitch.Cutover);

/** The plan's group fields: its members, and the ones that change over at 100%. */
export const groupFields = (members: MemberPlan[]) => ({
  members,
  cutovers: members.filter(switchesAtCutover),
});

/** The deploy size of a member's new colour: a singleton's waits at 0 for the cut-over. */
export const deployCount = (member: Pick<MemberPlan, 'role' | 'desiredCount'>): number =>
  member.role === MemberRole.Singleton ? 0 : member.desiredCount;
