/**
 * Hooks: ordered one-off tasks at named points of a release (migrations, smoke tests, load tests).
 * A hook is an ECS RunTask of the release's new task definition (or a named one) with a command
 * override, in the target's cluster and network. It is waited for like every other wait: resumed by
 * the task's `ECS Task State Change` (STOPPED) and re-checked with DescribeTasks. It succeeds when its
 * essential container exited 0 and, for a load test, the figures it reported meet its thresholds.
 * Or a hook is a Lambda function the state machine invokes (synchronously, at most 15 minutes): it
 * succeeds when the function returns without an error and does not answer `{"status": "Failed"}`.
 */
import * as z from 'zod';

export const HookPoint = {
  /**
   * After the backup (the snapshot available) and the new revision's registration; before the new
   * colour starts. For work the new version needs at boot, such as an expand migration.
   */
  PreDeploy: 'preDeploy',
  /** After the backup, the deploy, the health check and any approval; before any weight moves. */
  PreTraffic: 'preTraffic',
  /** After 100% of traffic moved and its bake, while the old colour is still warm. */
  PostTraffic: 'postTraffic',
} as const;
export type HookPoint = (typeof HookPoint)[keyof typeof HookPoint];
/** The points in the order a release reaches them. */
export const HOOK_POINTS = [HookPoint.PreDeploy, HookPoint.PreTraffic, HookPoint.PostTraffic] as const;

/** What the old version makes of the schema after a migration. */
export const Compatibility = {
  /** The old version runs against the new schema: putting traffic back needs no restore. */
  Expand: 'expand',
  /** The old version cannot run against the new schema: going back needs the snapshot restored. */
  Breaking: 'breaking',
} as const;
export type Compatibility = (typeof Compatibility)[keyof typeof Compatibility];

const containerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'must be 1-255 letters, digits, "-" or "_"');

/** Tasks Switchyard starts say so (`startedBy`); their group names the target, which events carry. */
export const HOOK_STARTED_BY = 'switchyard';
export const hookGroup = (target: string) => `switchyard:${target}`;

/**
 * Set in every hook task's environment: the release it belongs to. A migration may log it; Switchyard
 * reads it back to tell another release's hook task from this one's (shared/migrations.ts).
 */
export const RELEASE_VARIABLE = 'SWITCHYARD_RELEASE_ID';

/** ECS accepts at most 8192 characters of overrides per RunTask (RunTask API reference, `overrides`). */
export const MAX_OVERRIDE_CHARACTERS = 8192;

export const thresholdsSchema = z
  .strictObject({
    /** The 95th percentile of response times the task measured, in milliseconds: must be below. */
    p95Ms: z.number().positive().max(600_000).optional(),
    /** Share of failed requests (0-1): must be below. */
    errorRate: z.number().min(0).max(1).optional(),
    /** Requests per second the service sustained: must be at least this. */
    minRps: z.number().positive().max(1_000_000).optional(),
  })
  .refine((t) => t.p95Ms !== undefined || t.errorRate !== undefined || t.minRps !== undefined, {
    message: 'name at least one of p95Ms, errorRate, minRps',
  });
export type Thresholds = z.infer<typeof thresholdsSchema>;

export const migrationSchema = z.strictObject({
  compatibility: z.enum([Compatibility.Expand, Compatibility.Breaking]),
  /** How to undo it by hand (e.g. `alembic downgrade -1`): shown in the rollback plan, never run. */
  undo: z.string().min(1).max(500).optional(),
});

/** A Lambda function's name, name:alias, or ARN (Lambda's FunctionName). */
const FUNCTION_NAME =
  /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

/** Lambda's limit on a function's run time, and so on a Lambda hook's (Lambda quotas: 900 s). */
export const LAMBDA_MAX_SECONDS = 900;

/**
 * The longest a Lambda migration's function can start after StartLambdaHook: the Invoke state retries
 * Lambda's throttling 6 times, 2 s doubling (2 + 4 + … + 64 s; an ASL test pins this to the state
 * machine's retriers), with a minute more for the throttled attempts themselves.
 */
export const LAMBDA_HOOK_START_SECONDS = 126 + 60;

export const lambdaHookSchema = z.strictObject({
  /** The function: name, name:alias or ARN, in the stack's account and Region when not an ARN. */
  functionName: z.string().regex(FUNCTION_NAME, 'must be a Lambda function name, name:alias or function ARN'),
  /** Passed to the function with the release's id, target, hook, point and new task definition. */
  payload: z.record(z.string(), z.unknown()).default({}),
});

export const hookSchema = z
  .strictObject({
    /** Names the hook in the release record, the notifications and `switchyard describe`. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be lowercase letters, digits and "-", starting with a letter'),
    /** An ECS one-off task (give this or `lambda`). */
    task: z
      .strictObject({
        /**
         * Default: the release's own new revision (the image being released). A family, a
         * `family:revision` or an ARN runs that task definition instead.
         */
        taskDefinition: z
          .string()
          .regex(
            /^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/)?[A-Za-z0-9_-]{1,255}(:\d+)?$/,
            'must be a task definition family, family:revision or ARN',
          )
          .optional(),
        /** The container whose command is replaced (default: the target's ecs.container). */
        container: containerName.optional(),
        command: z.array(z.string().min(1).max(4096)).min(1).max(100),
        environment: z
          .record(
            z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'must be an environment variable name'),
            z.string().max(4096),
          )
          .refine((env) => !(RELEASE_VARIABLE in env), {
            message: `${RELEASE_VARIABLE} is set by Switchyard (the release's id): name your variable otherwise`,
          })
          .default({}),
      })
      .optional(),
    /** A Lambda function, invoked by the state machine (give this or `task`). */
    lambda: lambdaHookSchema.optional(),
    /** The hook fails (and its task is stopped) if it has not stopped by then. */
    timeoutSeconds: z
      .number()
      .int()
      .min(60)
      .max(12 * 3600)
      .default(900),
    /** Marks a schema migration and says whether the old version survives it. */
    migration: migrationSchema.optional(),
    /**
     * A load test: the task prints one line `SWITCHYARD_RESULT {"p95Ms":…,"errorRate":…,"rps":…}` to
     * its log (awslogs), and the release compares those figures with these.
     */
    thresholds: thresholdsSchema.optional(),
  })
  .superRefine((h, ctx) => {
    if ((h.task === undefined) === (h.lambda === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['task'],
        message:
          'a hook is either an ECS task (task: { command, … }) or a Lambda function (lambda: { functionName }): give exactly one',
      });
    if (h.lambda && h.timeoutSeconds > LAMBDA_MAX_SECONDS)
      ctx.addIssue({
        code: 'custom',
        path: ['timeoutSeconds'],
        message: `a Lambda function runs at most ${LAMBDA_MAX_SECONDS} s (Lambda quotas): ${h.timeoutSeconds} could never be reached. Use an ECS task hook for longer work`,
      });
  })
  .refine(
    (h) =>
      !h.task ||
      JSON.stringify({
        containerOverrides: [
          {
            name: h.task.container ?? 'c'.repeat(255),
            command: h.task.command,
            environment: [
              ...Object.entries(h.task.environment).map(([name, value]) => ({ name, value })),
              // RunHook adds the release's id (at most 80 characters).
              { name: RELEASE_VARIABLE, value: 'r'.repeat(80) },
            ],
          },
        ],
      }).length <= MAX_OVERRIDE_CHARACTERS,
    {
      path: ['task'],
      message: `command and environment must fit in ECS's ${MAX_OVERRIDE_CHARACTERS} characters of RunTask overrides`,
    },
  );
export type Hook = z.infer<typeof hookSchema>;

export const hooksSchema = z
  .strictObject({
    preDeploy: z.array(hookSchema).max(10).default([]),
    preTraffic: z.array(hookSchema).max(10).default([]),
    postTraffic: z.array(hookSchema).max(10).default([]),
  })
  .prefault({});
export type Hooks = z.infer<typeof hooksSchema>;

/** Every hook of a target (or a plan), in the order a release runs them. */
export const allHooks = <H>(hooks: Record<HookPoint, H[]>): H[] => HOOK_POINTS.flatMap((p) => hooks[p]);

/** One hook as the plan carries it: everything RunTask needs except the release's own revision. */
export const hookPlanSchema = z.object({
  name: z.string(),
  point: z.enum(HOOK_POINTS),
  cluster: z.string(),
  /** A named task definition; unset, the release's new revision (known once it is registered). */
  taskDefinition: z.string().optional(),
  container: z.string(),
  command: z.array(z.string()),
  environment: z.array(z.object({ name: z.string(), value: z.string() })),
  timeoutSeconds: z.number().int().min(1),
  /** The live service's placement, copied so the task runs where the service does. */
  launch: z.record(z.string(), z.unknown()),
  /** Where its log goes (awslogs): needed to read a load test's figures and to link the log. */
  log: z.object({ group: z.string(), streamPrefix: z.string().optional(), region: z.string() }).optional(),
  migration: migrationSchema.optional(),
  thresholds: thresholdsSchema.optional(),
});
export type HookPlan = z.infer<typeof hookPlanSchema>;

/** A Lambda hook as the plan carries it: the state machine invokes the function itself. */
export const lambdaHookPlanSchema = z.object({
  kind: z.literal('lambda'),
  name: z.string(),
  point: z.enum(HOOK_POINTS),
  functionName: z.string(),
  payload: z.record(z.string(), z.unknown()),
  timeoutSeconds: z.number().int().min(1).max(LAMBDA_MAX_SECONDS),
  migration: migrationSchema.optional(),
  thresholds: thresholdsSchema.optional(),
});
export type LambdaHookPlan = z.infer<typeof lambdaHookPlanSchema>;

/** Either kind of hook, as the plan's lists hold them (the ASL's Choice reads `kind`). */
export const anyHookPlanSchema = z.union([lambdaHookPlanSchema, hookPlanSchema]);
export type AnyHookPlan = z.infer<typeof anyHookPlanSchema>;

/** What a hook runs, for plans, approvals and the Started notice: its command or its function. */
export const hookAction = (h: AnyHookPlan): string =>
  'kind' in h ? `Lambda function ${h.functionName}` : h.command.join(' ');

/**
 * A Lambda hook's plan: the function as given (a name resolves in the stack's account and Region,
 * as Step Functions' Lambda integration resolves it).
 */
export const lambdaHookPlan = (hook: Hook, point: HookPoint): LambdaHookPlan | undefined =>
  hook.lambda
    ? {
        kind: 'lambda',
        name: hook.name,
        point,
        functionName: hook.lambda.functionName,
        payload: hook.lambda.payload,
        timeoutSeconds: hook.timeoutSeconds,
        ...(hook.migration ? { migration: hook.migration } : {}),
        ...(hook.thresholds ? { thresholds: hook.thresholds } : {}),
      }
    : undefined;

/** The line a load-test task prints with its figures (the last such line counts). */
export const RESULT_MARKER = 'SWITCHYARD_RESULT';

export const figuresSchema = z.object({
  p95Ms: z.number().nonnegative().optional(),
  errorRate: z.number().min(0).max(1).optional(),
  rps: z.number().nonnegative().optional(),
});
export type Figures = z.infer<typeof figuresSchema>;

/** The figures in the last `SWITCHYARD_RESULT {…}` line of a log, or why there are none. */
export const figuresIn = (lines: string[]): { figures: Figures } | { missing: string } => {
  const line = lines.findLast((l) => l.includes(RESULT_MARKER));
  if (!line) return { missing: `no ${RESULT_MARKER} line in the task's log` };
  const json = line.slice(line.indexOf(RESULT_MARKER) + RESULT_MARKER.length).trim();
  try {
    const parsed = figuresSchema.safeParse(JSON.parse(json));
    if (parsed.success) return { figures: parsed.data };
    return {
      missing: `${RESULT_MARKER} line is not {"p95Ms","errorRate","rps"} numbers: ${json.slice(0, 200)}`,
    };
  } catch {
    return { missing: `${RESULT_MARKER} line is not JSON: ${json.slice(0, 200)}` };
  }
};

export interface ThresholdResult {
  figure: 'p95Ms' | 'errorRate' | 'rps';
  value: number | undefined;
  limit: number;
  /** `<` or `≥`: what the value had to be. */
  rule: string;
  passed: boolean;
}

/** Which figure each threshold bounds, and how: below its limit, or at least it. */
const RULES = [
  { threshold: 'p95Ms', figure: 'p95Ms', rule: '<' },
  { threshold: 'errorRate', figure: 'errorRate', rule: '<' },
  { threshold: 'minRps', figure: 'rps', rule: '≥' },
] as const;

/** Each threshold against the figure it bounds; a figure the task did not report fails. */
export const judgeFigures = (figures: Figures, thresholds: Thresholds): ThresholdResult[] =>
  RULES.flatMap(({ threshold, figure, rule }) => {
    const limit = thresholds[threshold];
    if (limit === undefined) return [];
    const value = figures[figure];
    const passed = value !== undefined && (rule === '<' ? value < limit : value >= limit);
    return [{ figure, value, limit, rule, passed }];
  });

/** `p95 < 2000 ms, errors < 5%, ≥ 10 req/s`: what a load test must show. */
export const thresholdsText = (t: Thresholds): string =>
  [
    ...(t.p95Ms !== undefined ? [`p95 < ${t.p95Ms} ms`] : []),
    ...(t.errorRate !== undefined ? [`errors < ${t.errorRate * 100}%`] : []),
    ...(t.minRps !== undefined ? [`≥ ${t.minRps} req/s`] : []),
  ].join(', ');

export const thresholdText = (r: ThresholdResult): string =>
  `${r.figure} ${r.value === undefined ? 'not reported' : round(r.value)} (${r.rule} ${r.limit}) ${r.passed ? 'ok' : 'FAILED'}`;

const round = (n: number) => (Number.isInteger(n) ? n : Number(n.toPrecision(4)));

/** The compatibility of a target's migrations: breaking if any is (none if there is no migration). */
export const migrationCompatibility = (hooks: Hooks): Compatibility | 'none' => {
  const all = allHooks(hooks).flatMap((h) => (h.migration ? [h.migration] : []));
  if (all.length === 0) return 'none';
  return all.some((m) => m.compatibility === Compatibility.Breaking)
    ? Compatibility.Breaking
    : Compatibility.Expand;
};

/** One line for plans, approval messages and rollback plans. */
export const migrationText = (hooks: Hooks): string | undefined => {
  const migrations = allHooks(hooks).filter((h) => h.migration);
  if (migrations.length === 0) return undefined;
  const each = migrations
    .map(
      (h) =>
        `${h.name} (${h.migration?.compatibility}${h.migration?.undo ? `, undo: ${h.migration.undo}` : ''})`,
    )
    .join(', ');
  return migrationCompatibility(hooks) === Compatibility.Breaking
    ? `Migration ${each}: BREAKING, the old version cannot run on the new schema. Once it has run, nothing puts traffic back automatically: going back needs the snapshot restored (then \`switchyard rollback --force\`).`
    : `Migration ${each}: expand, the old version runs on the new schema, so a rollback needs no restore.`;
};

/** A name as the CloudWatch console's URL fragments want it: encoded twice, `%` written `$`. */
const consoleEncoded = (name: string) =>
  encodeURIComponent(encodeURIComponent(name)).replaceAll('%25', '$25');

/** The CloudWatch console page of a log group (a Lambda hook's: `/aws/lambda/<name>`). */
export const logGroupUrl = (region: string, group: string): string =>
  `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${consoleEncoded(group)}`;

/** The CloudWatch console page of a task's log stream. */
export const logStreamUrl = (region: string, group: string, stream: string): string =>
  `${logGroupUrl(region, group)}/log-events/${consoleEncoded(stream)}`;

/** The awslogs stream of a task's container: `<prefix>/<container>/<task id>` (awslogs driver docs). */
export const logStreamOf = (
  prefix: string | undefined,
  container: string,
  taskArn: string,
): string | undefined => (prefix ? `${prefix}/${container}/${taskArn.split('/').at(-1)}` : undefined);

/** The console page of a function's log group (`/aws/lambda/<name>`, Lambda's default). */
export const functionLogUrl = (functionName: string): string => {
  const arn = functionName.match(/^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:([^:]+)/);
  const region = arn?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';
  return logGroupUrl(region, `/aws/lambda/${arn?.[2] ?? functionName.split(':')[0]}`);
};
