import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { analysisIssues, analysisSchema, When } from './analysis/config.ts';
import { InvalidInput, TargetNotFound } from './errors.ts';
import { Days, isTimeZone } from './freeze.ts';
import { groupIssues, groupSchema } from './group.ts';
import { Compatibility, HOOK_POINTS, hooksSchema } from './hooks.ts';
import { identitySchema, normaliseIdentity } from './identity.ts';
import { promotesFromSchema, promotionIssues } from './promotion.ts';
import { routesSchema } from './routing.ts';
import { Strategy } from './vocabulary.ts';

const minutes = z
  .number()
  .min(0)
  .max(24 * 60);

export const strategySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal(Strategy.AllAtOnce) }),
  z.strictObject({
    type: z.literal(Strategy.Canary),
    /** Percent of traffic the new colour takes first. */
    percent: z.number().int().min(1).max(99),
    /** Minutes at that percent, watching alarms, before 100%. */
    bakeMinutes: minutes,
  }),
  z.strictObject({
    type: z.literal(Strategy.Linear),
    /** Each step adds this percent (10 → 10, 20, … 90, then 100). */
    stepPercent: z.number().int().min(1).max(50),
    stepBakeMinutes: minutes,
  }),
]);

/**
 * The schema of one target, built on first use: a function reads the targets document the stack
 * validated as it is (`loadDeployedTargets`), so building these schemas at import was work every
 * cold start did for nothing.
 */
const targetSchema = () => {
  const arn = (service: string, what: string) =>
    z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:.+$`), `must be ${what} ARN`);

  const roleArn = z
    .string()
    .regex(
      /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
      'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    );

  const name = z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'must be 1-255 letters, digits, "-" or "_"');

  const tagPattern = z
    .string()
    .min(1)
    .max(200)
    .refine((pattern) => {
      try {
        new RegExp(pattern);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression');

  const hhmm = z
    .string()
    .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be local time HH:MM (00:00-24:00)');

  const freezeWindow = z
    .strictObject({
      name: z.string().min(1).max(80),
      timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
      /** Days the window starts on; default every day. */
      days: z
        .array(z.enum(Days))
        .min(1)
        .default([...Days]),
      start: hhmm,
      /** At or before `start`: the window ends on the next day. */
      end: hhmm,
    })
    .refine((w) => w.start !== w.end || w.start === '00:00', {
      message: 'start and end are equal: use 00:00-24:00 for a whole day',
    });

  const secretRef = z
    .string()
    .regex(
      /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/,
      'must be a Secrets Manager secret name or ARN',
    );

  /** An email address as people are compared (identity.ts): trimmed and case-folded. */
  const emailIdentity = z.preprocess(
    (v) => (typeof v === 'string' ? normaliseIdentity(v) : v),
    z.email('must be an email address'),
  );

  /**
   * Another name of an approver. Not `slack:…` (Slack user ids go in slackUserId). An assumed-role
   * ARN only for IAM Identity Center roles (`AWSReservedSSO_…`), whose session name AWS sets to the
   * signed-in user: with a plain AssumeRole the caller picks the session name, so anyone who may
   * assume the role could claim to be this approver.
   */
  const aliasSchema = identitySchema.superRefine((alias, ctx) => {
    if (alias.startsWith('slack:'))
      ctx.addIssue({ code: 'custom', message: 'a Slack user id goes in slackUserId, not in aliases' });
    const role = alias.match(/^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([^/]+)\//)?.[1];
    if (role !== undefined && !role.startsWith('awsreservedsso_'))
      ctx.addIssue({
        code: 'custom',
        message: `an assumed-role alias must be an IAM Identity Center session (AWSReservedSSO_…): whoever may assume ${role} chooses its session name; use an IAM user ARN or an Identity Center session`,
      });
  });

  const alarmName = z
    .string()
    .min(1)
    .max(255)
    .refine((n) => !/\p{Cc}/u.test(n), 'must be a CloudWatch alarm name (no control characters)');

  /** One deployable unit in one environment. Every entry point validates it with this schema. */
  return z.strictObject({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,39}$/,
        'must be lowercase letters, digits and "-", starting with a letter, max 40',
      ),
    environment: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,19}$/, 'must be lowercase letters, digits and "-", max 20'),
    /** Where the target's people are: approval pages show times in this zone as well as UTC. */
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').optional(),
    image: z.strictObject({
      repository: z.string().regex(/^[a-z0-9][a-z0-9._/-]{1,255}$/, 'must be an ECR repository name'),
      /** Regular expression matched against the whole pushed tag. */
      tagPattern,
    }),
    ecs: z.strictObject({
      cluster: name,
      services: z.strictObject({ blue: name, green: name }),
      /** The container whose image Switchyard replaces. */
      container: name,
      /**
       * The IAM roles the services' task definition names (taskRoleArn, executionRoleArn). Deploying
       * a new revision passes them to ECS, so the stack grants iam:PassRole on exactly these.
       */
      roles: z.strictObject({ task: roleArn.optional(), execution: roleArn.optional() }).default({}),
      /**
       * The CloudWatch Logs group the task definition's containers log to (`awslogs-group`). Hooks'
       * logs are read from it (a load test's figures, the last lines of a failed migration); the stack
       * grants reading that group's streams and no other.
       */
      logGroup: z
        .string()
        .regex(/^[.\-_/#A-Za-z0-9]{1,512}$/, 'must be a CloudWatch Logs log group name')
        .optional(),
    }),
    traffic: z
      .strictObject({
        listenerArn: arn('elasticloadbalancing', 'a listener').optional(),
        listenerRuleArn: arn('elasticloadbalancing', 'a listener rule').optional(),
        /** A listener that forwards only to the idle colour, used by the HTTP probes. */
        testListenerArn: arn('elasticloadbalancing', 'a listener').optional(),
        targetGroups: z.strictObject({
          blue: arn('elasticloadbalancing', 'a target group'),
          green: arn('elasticloadbalancing', 'a target group'),
        }),
        strategy: strategySchema.default({ type: Strategy.AllAtOnce }),
      })
      .refine((t) => (t.listenerArn === undefined) !== (t.listenerRuleArn === undefined), {
        message: 'set exactly one of listenerArn (default action) or listenerRuleArn',
      })
      .refine((t) => t.targetGroups.blue !== t.targetGroups.green, {
        message: 'targetGroups.blue and targetGroups.green must differ',
      }),
    health: z
      .strictObject({
        path: z.string().startsWith('/').max(512).default('/health'),
        expectStatus: z.number().int().min(100).max(599).default(200),
        probes: z.number().int().min(1).max(200).default(20),
        thresholds: z
          .strictObject({
            p95Ms: z.number().positive().max(60_000).default(500),
            errorRate: z.number().min(0).max(1).default(0.01),
          })
          .prefault({}),
        /** Seconds after the deployment is stable before health is judged. */
        graceSeconds: z.number().int().min(0).max(3600).default(0),
      })
      .prefault({}),
    database: z
      .strictObject({
        kind: z.enum(['instance', 'cluster']),
        identifier: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, 'must be an RDS identifier'),
        /**
         * Switchyard's own snapshots of this database kept after a release is Promoted; older ones
         * are deleted. RDS allows 100 manual snapshots per Region by default, shared by every target
         * and anything else in the account: 10 leaves room for several databases while keeping ten
         * releases of restore points (a restore further back is rarely the one wanted).
         */
        keepSnapshots: z.number().int().min(1).max(90).default(10),
      })
      .optional(),
    /**
     * The target's network: where its load balancer's test listener is reachable from. CheckHealth
     * attaches to these subnets and security groups (one VPC for every target of a stack) so its
     * probes reach an internal load balancer. Without it CheckHealth runs outside any VPC and can
     * reach only an internet-facing listener.
     */
    network: z
      .strictObject({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0a1b2c3d4e5f67890'),
        subnets: z
          .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id such as subnet-0a1b2c3d'))
          .min(1)
          .max(16),
        securityGroups: z
          .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id such as sg-0a1b2c3d'))
          .min(1)
          .max(5),
      })
      .optional(),
    /** Minutes the old colour stays warm after 100% of traffic moved, before it is scaled down. */
    bakeMinutes: minutes.default(5),
    /**
     * CloudWatch alarms watched during every bake: one in ALARM puts traffic back on the old colour.
     * Any alarm in ALARM also stops the release before traffic moves.
     */
    alarms: z.array(alarmName).max(100).default([]),
    /**
     * Checks on CloudWatch metrics that judge the new colour on real traffic during every bake:
     * thresholds, and comparisons with the old colour (functions/shared/analysis).
     */
    analysis: analysisSchema,
    /** A person must approve before any traffic moves (after CheckHealth). */
    approval: z
      .strictObject({
        required: z.boolean(),
        /** Who may decide: their email (the identity links are signed for) and Slack user id. */
        approvers: z
          .array(
            z.strictObject({
              /** Compared trimmed and case-folded (identity.ts). */
              id: emailIdentity,
              /**
               * Other names of the same person: their CLI user name (`$USER`, the CLI's default `--as`
               * in the local runtime) and their IAM principal ARNs (who calls `switchyard approve`
               * against AWS). A release started under an alias counts as started by this approver.
               */
              aliases: z.array(aliasSchema).max(20).default([]),
              slackUserId: z
                .string()
                .regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user id such as U024BE7LH')
                .optional(),
            }),
          )
          .min(1)
          .max(50),
        timeoutMinutes: z
          .number()
          .int()
          .min(1)
          .max(7 * 24 * 60)
          .default(60),
        channels: z
          .array(z.enum(['email', 'slack']))
          .min(1)
          .default(['email']),
        /**
         * The address approval emails come from: an identity verified in Amazon SES in the stack's
         * Region. Each approver's links go to that approver's own address only (SES), never to the
         * shared release topic, where any subscriber would read everyone's links.
         */
        emailFrom: emailIdentity.optional(),
        /** Two distinct approvers are needed. */
        twoPerson: z.boolean().default(false),
        /**
         * Two distinct approvers are needed when Switchyard cannot tell who started the release (an
         * image push whose pusher AWS did not name), so the pusher alone cannot approve their image.
         */
        twoPersonIfRequesterUnknown: z.boolean().default(false),
      })
      .refine((a) => !a.twoPerson || a.approvers.length >= 2, {
        message: 'twoPerson needs at least two approvers',
      })
      .refine((a) => !a.twoPersonIfRequesterUnknown || a.approvers.length >= 2, {
        message: 'twoPersonIfRequesterUnknown needs at least two approvers',
      })
      .refine((a) => !a.channels.includes('email') || a.emailFrom, {
        path: ['emailFrom'],
        message:
          'the email channel needs emailFrom: the SES-verified address approval emails are sent from (each approver gets their own email; links no longer go to the shared topic)',
      })
      .superRefine((a, ctx) => {
        // One name, one person: an id, alias or Slack user id listed twice (in any letter case) would
        // make a two-person rule that one person satisfies, or one that nobody can.
        const owner = new Map<string, number>();
        a.approvers.forEach((approver, index) => {
          // The keys identityMap builds (a Slack user id as `slack:<id>`), so no two can collide there.
          const names = [
            approver.id,
            ...approver.aliases,
            ...(approver.slackUserId ? [`slack:${approver.slackUserId}`] : []),
          ];
          for (const name of new Set(names.map(normaliseIdentity))) {
            const first = owner.get(name);
            if (first !== undefined) {
              ctx.addIssue({
                code: 'custom',
                path: ['approvers', index],
                message: `"${name}" is listed for approvers[${first}] and approvers[${index}]; each name (id, alias or Slack user id, in any letter case) must belong to one approver`,
              });
            } else owner.set(name, index);
          }
        });
      })
      .optional(),
    /**
     * One-off ECS tasks at named points of a release: `preDeploy` (after the backup, before the new
     * colour starts: work the new version needs at boot), `preTraffic` (after the health check and any
     * approval, before any weight moves: migrations, smoke and load tests) and `postTraffic` (after
     * 100% and its bake, with the old colour still warm). See functions/shared/hooks.ts.
     */
    hooks: hooksSchema,
    /**
     * Services released together with this one, each with its own two colours and a role (web,
     * worker, singleton); one rollback puts the whole group back. See functions/shared/group.ts.
     */
    group: groupSchema,
    /** No SetWeight starts inside one of these, unless the release was started with break-glass. */
    freezeWindows: z.array(freezeWindow).max(50).default([]),
    notify: z.strictObject({
      sns: arn('sns', 'an SNS topic'),
      /** Secrets Manager secret (name or ARN) holding a Slack incoming-webhook URL. */
      slackWebhookSecret: secretRef.optional(),
      /** Secrets Manager secret (name or ARN) holding a Microsoft Teams Workflows webhook URL. */
      teamsWebhookSecret: secretRef.optional(),
      /**
       * Per channel, which notices it gets (state names, or `failures` / `outcomes`), e.g. Teams
       * failures only. A channel not listed gets every notice (routing.ts).
       */
      events: routesSchema,
    }),
    /**
     * The target this one is promoted from, and the gate: the same image digest must have ended
     * Promoted there and soaked `soakMinutes` with no alarm and no rollback (promotion.ts).
     */
    promotesFrom: promotesFromSchema.optional(),
  });
};
export type Target = z.infer<ReturnType<typeof targetSchema>>;

const targetsFileSchema = () =>
  z.strictObject({ targets: z.array(targetSchema()).min(1) }).superRefine((file, ctx) => {
    for (const issue of promotionIssues(file.targets)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', issue.index, 'promotesFrom', 'target'],
        message: issue.message,
      });
    }
    const seen = new Set<string>();
    file.targets.forEach((target, index) => {
      if (target.approval?.channels.includes('slack') && !target.notify.slackWebhookSecret) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'approval', 'channels'],
          message: 'the slack channel needs notify.slackWebhookSecret',
        });
      }
      if (seen.has(target.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'name'],
          message: `duplicate target "${target.name}"`,
        });
      }
      seen.add(target.name);
      for (const issue of groupIssues(target)) {
        ctx.addIssue({ code: 'custom', path: ['targets', index, ...issue.path], message: issue.message });
      }
      for (const issue of analysisIssues(target)) {
        ctx.addIssue({ code: 'custom', path: ['targets', index, ...issue.path], message: issue.message });
      }
      for (const issue of hookIssues(target)) {
        ctx.addIssue({ code: 'custom', path: ['targets', index, ...issue.path], message: issue.message });
      }
      if (target.notify.events?.slack && !target.notify.slackWebhookSecret)
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'notify', 'events', 'slack'],
          message: 'routes notices to Slack, but notify.slackWebhookSecret is not set',
        });
      if (target.notify.events?.teams && !target.notify.teamsWebhookSecret)
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'notify', 'events', 'teams'],
          message: 'routes notices to Teams, but notify.teamsWebhookSecret is not set',
        });
      // One CheckHealth function sits in one VPC: every target that names a network shares it.
      const firstVpc = file.targets.find((t) => t.network)?.network?.vpcId;
      if (target.network && firstVpc && target.network.vpcId !== firstVpc) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'network', 'vpcId'],
          message: `${target.network.vpcId} differs from ${firstVpc}, named by an earlier target: CheckHealth attaches to one VPC, so deploy one Switchyard stack per VPC`,
        });
      }
    });
  });
export type TargetsFile = z.infer<ReturnType<typeof targetsFileSchema>>;

let builtTargetsFileSchema: ReturnType<typeof targetsFileSchema> | undefined;

/** What a target's hooks may not be, beyond each hook's own schema. */
const hookIssues = (target: Target): { path: (string | number)[]; message: string }[] => {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const names = new Map<string, string>();
  for (const point of HOOK_POINTS) {
    target.hooks[point].forEach((hook, i) => {
      const first = names.get(hook.name);
      if (first)
        issues.push({
          path: ['hooks', point, i, 'name'],
          message: `"${hook.name}" is also ${first}: each hook of a target needs its own name`,
        });
      else names.set(hook.name, `hooks.${point}[${i}]`);
      if (hook.thresholds && hook.task && !target.ecs.logGroup)
        issues.push({
          path: ['hooks', point, i, 'thresholds'],
          message:
            'a load test reports its figures in its log: set ecs.logGroup to the CloudWatch Logs group the task definition logs to (awslogs-group), so Switchyard may read them',
        });
      if (
        hook.migration?.compatibility === Compatibility.Breaking &&
        point === 'preTraffic' &&
        i !== target.hooks.preTraffic.length - 1
      )
        issues.push({
          path: ['hooks', point, i, 'migration', 'compatibility'],
          message:
            'a breaking migration must be the last preTraffic hook: a hook failing after it would leave the old version serving a schema it cannot use',
        });
      if (point === 'postTraffic' && hook.migration)
        issues.push({
          path: ['hooks', point, i, 'migration'],
          message:
            'a migration runs before traffic moves: put it in hooks.preTraffic (or hooks.preDeploy, if the new version needs it to start)',
        });
      if (point === 'preDeploy' && hook.migration?.compatibility === Compatibility.Breaking)
        issues.push({
          path: ['hooks', point, i, 'migration', 'compatibility'],
          message:
            'a preDeploy hook runs while the old version still serves every request, so a breaking migration there would break production before the new colour even starts. Make it expand, or make it the last hooks.preTraffic hook',
        });
      if (point === 'preDeploy' && hook.thresholds)
        issues.push({
          path: ['hooks', point, i, 'thresholds'],
          message:
            'a preDeploy hook runs before any task of the new version exists, so a load test there would measure the live version: put it in hooks.preTraffic, where the test listener reaches the new colour',
        });
      if (point === 'preDeploy' && hook.migration && target.approval?.required)
        issues.push({
          path: ['hooks', point, i, 'migration'],
          message:
            "this target's approval is asked after the deploy and its health check, but a preDeploy migration runs before the deploy: the approvers would decide after the schema changed. Put the migration in hooks.preTraffic (it runs after the approval)",
        });
      if (
        hook.migration?.compatibility === Compatibility.Breaking &&
        target.traffic.strategy.type !== 'all-at-once'
      )
        issues.push({
          path: ['hooks', point, i, 'migration', 'compatibility'],
          message: `a breaking migration needs traffic.strategy all-at-once (it is ${target.traffic.strategy.type}): once it has run the old version cannot serve, so every request it still gets would fail. Make the migration expand (the old version keeps working) or release all at once`,
        });
    });
  }
  // Test traffic is judged after every preTraffic hook: after a breaking migration, a failed
  // judgement would abort with the old version serving a schema it cannot use.
  if (
    target.hooks.preTraffic.some((h) => h.migration?.compatibility === Compatibility.Breaking) &&
    target.analysis
  )
    target.analysis.checks.forEach((c, i) => {
      if (c.when.includes(When.TestTraffic))
        issues.push({
          path: ['analysis', 'checks', i, 'when'],
          message:
            "test traffic is judged after the preTraffic hooks, so after this target's breaking migration: a failed check would abort with the old version on a schema it cannot use. Judge it in bakes only, or make the migration expand",
        });
    });
  return issues;
};

/**
 * A union none of whose options matched says only "Invalid input" (and a bad record key "Invalid key
 * in record"): the issues of the option that got
 * furthest (its deepest path; then the fewest issues) say what is wrong, under the union's own path.
 */
const unfold = (issue: z.core.$ZodIssue): z.core.$ZodIssue[] => {
  // A record key that fails its schema: its own message (the key is already in the path).
  if (issue.code === 'invalid_key' && issue.issues.length)
    return issue.issues.map((inner) => ({ ...inner, path: issue.path }) as z.core.$ZodIssue);
  if (issue.code !== 'invalid_union' || issue.message !== 'Invalid input' || !issue.errors.length)
    return [issue];
  const depth = (list: z.core.$ZodIssue[]) => Math.max(...list.map((i) => i.path.length));
  const best = [...issue.errors].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0] ?? [];
  if (best.length === 0 || depth(best) === 0) return [issue];
  return best.flatMap((inner) => unfold({ ...inner, path: [...issue.path, ...inner.path] }));
};

/** Renders zod issues as `path.to.field: message` lines, the form a person can act on. */
export const formatIssues = (error: z.ZodError): string =>
  error.issues
    .flatMap(unfold)
    .map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      return `${path.replace(/^\./, '') || '(root)'}: ${issue.message}`;
    })
    .join('\n');

/** Parses a targets document; a bad one throws `InvalidInput` naming each wrong field. */
export const parseTargets = (document: unknown, source = 'targets config'): TargetsFile => {
  builtTargetsFileSchema ??= targetsFileSchema();
  const result = builtTargetsFileSchema.safeParse(document);
  if (!result.success) throw new InvalidInput(`${source} is invalid:\n${formatIssues(result.error)}`);
  return result.data;
};

const readJson = (path: string): unknown => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidInput(`cannot read targets config ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInput(`targets config ${path} is not valid JSON: ${(error as Error).message}`);
  }
};

/** Reads and validates a targets JSON file. */
export const loadTargetsFile = (path: string): TargetsFile =>
  parseTargets(readJson(path), `targets config ${path}`);

/** Marks a targets document that Switchyard validated itself (see `validatedTargetsDocument`). */
const VALIDATED_BY = 'validatedBy';
const VALIDATOR = 'switchyard';

/**
 * The targets as the stack bundles them into every function (and the local runtime, playing the
 * stack's part, hands them to its functions): validated at synth, with every default filled in, and
 * marked so. A function's cold start then reads them as they are instead of validating the file
 * again: that parse (zod's, and the Intl time-zone data a freeze window's zone check loads) was a
 * quarter of each function's module initialisation (`npm run bench`, cold-start proxy).
 */
export const validatedTargetsDocument = (targets: TargetsFile): string =>
  `${JSON.stringify({ [VALIDATED_BY]: VALIDATOR, ...targets }, null, 2)}\n`;

/**
 * A function's config at cold start: a document the stack validated (`validatedTargetsDocument`)
 * is read as it is; any other file is validated here, as `loadTargetsFile` does.
 */
export const loadDeployedTargets = (path: string): TargetsFile => {
  const document = readJson(path);
  if (typeof document === 'object' && document !== null && VALIDATED_BY in document) {
    const { [VALIDATED_BY]: by, ...targets } = document as Record<string, unknown>;
    if (by === VALIDATOR) return targets as TargetsFile;
  }
  return parseTargets(document, `targets config ${path}`);
};

/** Looks a target up by name; an unknown name is `TargetNotFound` listing the known ones. */
export const findTarget = (targets: TargetsFile, targetName: string): Target => {
  const target = targets.targets.find((t) => t.name === targetName);
  if (!target) {
    const known = targets.targets.map((t) => t.name).join(', ');
    throw new TargetNotFound(`unknown target "${targetName}" (configured: ${known})`);
  }
  return target;
};

/** Targets whose repository is `repository` and whose tag pattern matches the whole `tag`. */
export const targetsForImage = (targets: TargetsFile, repository: string, tag: string): Target[] =>
  targets.targets.filter(
    (t) => t.image.repository === repository && new RegExp(`^(?:${t.image.tagPattern})$`).test(tag),
  );
