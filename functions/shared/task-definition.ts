/**
 * A release that carries its own task definition (environment, secrets, CPU/memory, sidecars), with
 * or without a new image: `switchyard release --task-definition file.json [--tag v]`. The file is
 * what `aws ecs register-task-definition --cli-input-json` takes (or what DescribeTaskDefinition
 * returns: its read-only fields are dropped). It is checked with ECS's own limits before anything
 * starts, diffed against the live definition for the approver, and deployed with the released
 * container's image pinned by digest.
 */
import { createHash } from 'node:crypto';
import type { ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { formatIssues } from './config.ts';
import { InvalidInput } from './errors.ts';

/** ECS's limit on a task definition's size: 64 KiB (Amazon ECS service quotas, "Task definition size"). */
export const MAX_TASK_DEFINITION_BYTES = 64 * 1024;
/** ECS's limit: 10 containers per task definition (Amazon ECS service quotas). */
export const MAX_CONTAINERS = 10;

/**
 * Fargate's task sizes: CPU units → allowed memory (MiB), from "Task CPU and memory" in the Amazon
 * ECS developer guide (Fargate): 256 → 512-2048, 512 → 1024-4096, 1024 → 2048-8192, 2048 →
 * 4096-16384 (1 GiB steps), 4096 → 8192-30720 (1 GiB steps), 8192 → 16384-61440 (4 GiB steps),
 * 16384 → 32768-122880 (8 GiB steps).
 */
const fargateMemory: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};
function range(from: number, to: number, step: number): number[] {
  return Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
}

/** Returned by DescribeTaskDefinition, refused by RegisterTaskDefinition: dropped from the file. */
const readOnly = [
  'taskDefinitionArn',
  'revision',
  'status',
  'compatibilities',
  'requiresAttributes',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
] as const;

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'must be 1-255 letters, digits, "-" or "_"');
const keyValues = z
  .array(z.looseObject({ name: z.string().min(1), value: z.string() }))
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const [i, e] of list.entries()) {
      if (seen.has(e.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${e.name}" is set twice` });
      seen.add(e.name);
    }
  });
const containerSchema = z.looseObject({
  name,
  image: z.string().min(1).max(255).optional(),
  essential: z.boolean().optional(),
  environment: keyValues.optional(),
  secrets: z
    .array(
      z.looseObject({
        name: z.string().min(1),
        valueFrom: z
          .string()
          .regex(
            /^(arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:.+|[A-Za-z0-9/_.-]+)$/,
            'must be a Secrets Manager or SSM parameter ARN (or parameter name)',
          ),
      }),
    )
    .optional(),
});

export const taskDefinitionFileSchema = z
  .looseObject({
    family: name,
    containerDefinitions: z.array(containerSchema).min(1).max(MAX_CONTAINERS),
    cpu: z.union([z.string(), z.number()]).optional(),
    memory: z.union([z.string(), z.number()]).optional(),
    networkMode: z.enum(['awsvpc', 'bridge', 'host', 'none']).optional(),
    requiresCompatibilities: z.array(z.enum(['EC2', 'FARGATE', 'EXTERNAL', 'MANAGED_INSTANCES'])).optional(),
    taskRoleArn: z.string().optional(),
    executionRoleArn: z.string().optional(),
  })
  .superRefine((td, ctx) => {
    const names = new Set<string>();
    for (const [i, c] of td.containerDefinitions.entries()) {
      if (names.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['containerDefinitions', i, 'name'],
          message: `"${c.name}" is used twice`,
        });
      names.add(c.name);
    }
    if (!td.containerDefinitions.some((c) => c.essential !== false))
      ctx.addIssue({
        code: 'custom',
        path: ['containerDefinitions'],
        message: 'at least one container must be essential',
      });
    if (td.requiresCompatibilities?.includes('FARGATE')) {
      if (td.networkMode !== 'awsvpc')
        ctx.addIssue({
          code: 'custom',
          path: ['networkMode'],
          message: 'Fargate tasks need networkMode "awsvpc"',
        });
      const cpu = Number(td.cpu);
      const memory = Number(td.memory);
      const allowed = fargateMemory[cpu];
      if (!allowed)
        ctx.addIssue({
          code: 'custom',
          path: ['cpu'],
          message: `Fargate takes task cpu ${Object.keys(fargateMemory).join(', ')} (got ${td.cpu ?? 'none'})`,
        });
      else if (!allowed.includes(memory))
        ctx.addIssue({
          code: 'custom',
          path: ['memory'],
          message: `with cpu ${cpu}, Fargate takes memory ${allowed[0]}-${allowed.at(-1)} MiB in steps of ${(allowed[1] ?? 0) - (allowed[0] ?? 0)} (got ${td.memory ?? 'none'})`,
        });
    }
  });
export type TaskDefinitionFile = z.infer<typeof taskDefinitionFileSchema>;

/**
 * Parses a task definition document (`{...}` or DescribeTaskDefinition's `{ taskDefinition: {...} }`),
 * drops its read-only fields and checks ECS's limits; `source` names it in errors.
 */
export const parseTaskDefinition = (
  document: unknown,
  container: string,
  source: string,
): TaskDefinitionFile => {
  const inner =
    document && typeof document === 'object' && 'taskDefinition' in document
      ? (document as { taskDefinition: unknown }).taskDefinition
      : document;
  const copy = inner && typeof inner === 'object' ? { ...(inner as Record<string, unknown>) } : inner;
  if (copy && typeof copy === 'object')
    for (const key of [...readOnly, 'tags']) delete (copy as Record<string, unknown>)[key];
  const result = taskDefinitionFileSchema.safeParse(copy);
  if (!result.success)
    throw new InvalidInput(
      `${source} is not a task definition ECS would take:\n${formatIssues(result.error)}`,
    );
  const size = Buffer.byteLength(JSON.stringify(result.data));
  if (size > MAX_TASK_DEFINITION_BYTES)
    throw new InvalidInput(
      `${source} is ${size} bytes; ECS takes task definitions up to ${MAX_TASK_DEFINITION_BYTES} bytes`,
    );
  if (!result.data.containerDefinitions.some((c) => c.name === container)) {
    throw new InvalidInput(
      `${source}: containerDefinitions has no container "${container}", the target's ecs.container (it has: ${result.data.containerDefinitions.map((c) => c.name).join(', ')})`,
    );
  }
  return result.data;
};

/** Eight hex digits naming a definition's content: releases of different definitions get different ids. */
export const taskDefinitionKey = (td: TaskDefinitionFile): string =>
  createHash('sha256').update(JSON.stringify(td)).digest('hex').slice(0, 8);

const envMap = (c: ContainerDefinition | undefined) =>
  new Map((c?.environment ?? []).map((e) => [e.name ?? '', e.value ?? '']));
const secretMap = (c: ContainerDefinition | undefined) =>
  new Map((c?.secrets ?? []).map((e) => [e.name ?? '', e.valueFrom ?? '']));

/**
 * What the new definition changes, one line each, for the approver: task size and roles, containers
 * added or removed, and per container its environment (values shown; put secrets in `secrets`),
 * secrets (by reference), command, CPU and memory. Images are not compared here (the release shows
 * which version it deploys).
 */
export const diffTaskDefinitions = (live: TaskDefinition, next: TaskDefinitionFile): string[] => {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  for (const key of ['cpu', 'memory', 'taskRoleArn', 'executionRoleArn', 'networkMode'] as const) {
    const a = live[key];
    const b = next[key];
    if (!same(a === undefined ? a : String(a), b === undefined ? b : String(b)))
      out.push(`${key}: ${a ?? 'none'} → ${b ?? 'none'}`);
  }
  const before = new Map((live.containerDefinitions ?? []).map((c) => [c.name ?? '', c]));
  const after = new Map(next.containerDefinitions.map((c) => [c.name, c as ContainerDefinition]));
  for (const name of before.keys()) if (!after.has(name)) out.push(`container ${name}: removed`);
  for (const [name, c] of after) {
    const old = before.get(name);
    if (!old) {
      out.push(`container ${name}: added (${c.image ?? 'no image'})`);
      continue;
    }
    const [envA, envB] = [envMap(old), envMap(c)];
    for (const [k, v] of envB) {
      if (!envA.has(k)) out.push(`container ${name}: env ${k}=${v} added`);
      else if (envA.get(k) !== v) out.push(`container ${name}: env ${k}: ${envA.get(k)} → ${v}`);
    }
    for (const k of envA.keys()) if (!envB.has(k)) out.push(`container ${name}: env ${k} removed`);
    const [secA, secB] = [secretMap(old), secretMap(c)];
    for (const [k, v] of secB) {
      if (!secA.has(k)) out.push(`container ${name}: secret ${k} from ${v} added`);
      else if (secA.get(k) !== v) out.push(`container ${name}: secret ${k} now from ${v}`);
    }
    for (const k of secA.keys()) if (!secB.has(k)) out.push(`container ${name}: secret ${k} removed`);
    for (const key of ['command', 'cpu', 'memory', 'memoryReservation', 'portMappings'] as const) {
      if (!same(old[key], c[key]))
        out.push(
          `container ${name}: ${key} ${JSON.stringify(old[key] ?? null)} → ${JSON.stringify(c[key] ?? null)}`,
        );
    }
  }
  return out;
};
