/**
 * A release that carries its own task definition (environment, secrets, CPU/memory, sidecars), with
 * or without a new image: `switchyard release --task-definition file.json [--tag v]`. The file is
 * what `aws ecs register-task-definition --cli-input-json` takes (or what DescribeTaskDefinition
 * returns: its read-only fields are dropped). It is checked with ECS's own limits before anything
 * starts, diffed against the live definition for the approver, and deployed with the released
 * container's image pinned by digest.
 */
import { createHash } from 'node:crypto';
import type {
  ContainerDefinition,
  RegisterTaskDefinitionCommandInput,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { formatIssues } from './config.ts';
import { InvalidInput, ResourceNotFound } from './errors.ts';

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

/**
 * Returned by DescribeTaskDefinition, refused by RegisterTaskDefinition (as in
 * aws-actions/amazon-ecs-deploy-task-definition): dropped from a file, and from a live copy.
 */
export const READ_ONLY_FIELDS = [
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
/** Fields ECS takes that Switchyard passes through as they are (RegisterTaskDefinition reference). */
const passThrough = (keys: readonly string[]) =>
  Object.fromEntries(keys.map((k) => [k, z.unknown().optional()])) as Record<
    string,
    z.ZodOptional<z.ZodUnknown>
  >;
const containerKeys = [
  'repositoryCredentials',
  'memoryReservation',
  'links',
  'portMappings',
  'restartPolicy',
  'entryPoint',
  'command',
  'environmentFiles',
  'mountPoints',
  'volumesFrom',
  'linuxParameters',
  'dependsOn',
  'startTimeout',
  'stopTimeout',
  'versionConsistency',
  'hostname',
  'user',
  'workingDirectory',
  'disableNetworking',
  'privileged',
  'readonlyRootFilesystem',
  'dnsServers',
  'dnsSearchDomains',
  'extraHosts',
  'dockerSecurityOptions',
  'interactive',
  'pseudoTerminal',
  'dockerLabels',
  'ulimits',
  'logConfiguration',
  'healthCheck',
  'systemControls',
  'resourceRequirements',
  'firelensConfiguration',
  'credentialSpecs',
] as const;
const taskKeys = [
  'volumes',
  'placementConstraints',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const;
const keyValues = z
  .array(z.strictObject({ name: z.string().min(1), value: z.string() }))
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const [i, e] of list.entries()) {
      if (seen.has(e.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${e.name}" is set twice` });
      seen.add(e.name);
    }
  });
/** Unknown keys are refused: a typo such as `enviroment` would otherwise vanish in the SDK. */
const containerSchema = z.strictObject({
  ...passThrough(containerKeys),
  name,
  // ECS refuses a container without one ("Container.image should not be null or empty").
  image: z.string().min(1).max(1024),
  essential: z.boolean().optional(),
  cpu: z.number().int().min(0).optional(),
  memory: z.number().int().min(6).optional(),
  environment: keyValues.optional(),
  secrets: z
    .array(
      z.strictObject({
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
  .strictObject({
    ...passThrough(taskKeys),
    family: name,
    containerDefinitions: z.array(containerSchema).min(1).max(MAX_CONTAINERS),
    // ECS takes the task size as strings ("512", "1 vCPU"): numbers are turned into strings.
    cpu: z.union([z.string(), z.number()]).transform(String).optional(),
    memory: z.union([z.string(), z.number()]).transform(String).optional(),
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
    for (const key of [...READ_ONLY_FIELDS, 'tags']) delete (copy as Record<string, unknown>)[key];
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

/** Empty lists, objects and absent fields are the same to ECS; so are 512 and "512". */
const norm = (v: unknown): unknown => {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(norm);
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => [k, norm(x)] as const)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return typeof v === 'number' ? String(v) : v;
};
const same = (a: unknown, b: unknown) => JSON.stringify(norm(a)) === JSON.stringify(norm(b));
const short = (v: unknown) => {
  const text = typeof v === 'string' ? v : (JSON.stringify(norm(v) ?? null) ?? 'null');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/** At most this many lines of changes go to the approver, the record and the events. */
export const MAX_CHANGE_LINES = 40;

/**
 * What the new definition changes, one line each, for the approver: every task-level field and,
 * per container, every field (environment and secrets by name; values shortened). The released
 * container's image is left out (the release says which version it deploys); other containers'
 * images are compared. Empty and absent are the same (ECS fills such defaults in).
 */
export const diffTaskDefinitions = (
  live: TaskDefinition,
  next: TaskDefinitionFile,
  releasedContainer?: string,
): string[] => {
  const out: string[] = [];
  const skipTask = new Set<string>(['containerDefinitions', 'tags', ...READ_ONLY_FIELDS]);
  const fields = (o: object) => Object.keys(o).filter((k) => !skipTask.has(k));
  for (const key of [...new Set([...fields(live), ...fields(next)])].sort()) {
    const a = (live as Record<string, unknown>)[key];
    const b = (next as Record<string, unknown>)[key];
    if (!same(a, b)) out.push(`${key}: ${short(a ?? 'none')} → ${short(b ?? 'none')}`);
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
      if (!envA.has(k)) out.push(`container ${name}: env ${k}=${short(v)} added`);
      else if (envA.get(k) !== v)
        out.push(`container ${name}: env ${k}: ${short(envA.get(k))} → ${short(v)}`);
    }
    for (const k of envA.keys()) if (!envB.has(k)) out.push(`container ${name}: env ${k} removed`);
    const [secA, secB] = [secretMap(old), secretMap(c)];
    for (const [k, v] of secB) {
      if (!secA.has(k)) out.push(`container ${name}: secret ${k} from ${v} added`);
      else if (secA.get(k) !== v) out.push(`container ${name}: secret ${k} now from ${v}`);
    }
    for (const k of secA.keys()) if (!secB.has(k)) out.push(`container ${name}: secret ${k} removed`);
    const skip = new Set([
      'name',
      'environment',
      'secrets',
      ...(name === releasedContainer ? ['image'] : []),
    ]);
    for (const key of [...new Set([...Object.keys(old), ...Object.keys(c)])]
      .filter((k) => !skip.has(k))
      .sort()) {
      const a = (old as Record<string, unknown>)[key];
      const b = (c as Record<string, unknown>)[key];
      if (!same(a, b)) out.push(`container ${name}: ${key} ${short(a ?? 'none')} → ${short(b ?? 'none')}`);
    }
  }
  return out.length > MAX_CHANGE_LINES
    ? [...out.slice(0, MAX_CHANGE_LINES - 1), `… and ${out.length - MAX_CHANGE_LINES + 1} more`]
    : out;
};

/** A copy of the live task definition with `container` pinned to `image` (by digest). */
export const withImage = (
  live: TaskDefinition,
  container: string,
  image: string,
): RegisterTaskDefinitionCommandInput => {
  const copy: Record<string, unknown> = { ...live };
  for (const key of READ_ONLY_FIELDS) delete copy[key];
  const containers = (live.containerDefinitions ?? []).map((c) =>
    c.name === container ? { ...c, image } : c,
  );
  if (!containers.some((c) => c.name === container)) {
    throw new ResourceNotFound(
      `container "${container}" is not in task definition ${live.taskDefinitionArn}`,
    );
  }
  return { ...(copy as unknown as RegisterTaskDefinitionCommandInput), containerDefinitions: containers };
};
