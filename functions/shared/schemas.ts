/** zod schemas for the data that flows between states (the execution's JSON). */
import * as z from 'zod';
import { memberPlanSchema } from './group.ts';
import { anyHookPlanSchema } from './hooks.ts';
import { oneLine } from './identity.ts';
import { Colour, Strategy, TriggerSource } from './vocabulary.ts';

export const releaseIdSchema = z.string().regex(/^[a-z][a-z0-9-]{0,79}$/, 'must be a Switchyard release id');
export const targetNameSchema = z.string().min(1).max(40);
export const colourSchema = z.enum([Colour.blue, Colour.green]);

export const imageRefSchema = z.object({
  repository: z.string().min(1).max(256),
  tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'must be a Docker image tag'),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>'),
});

export const triggerSchema = z.object({
  source: z.enum([TriggerSource.EcrPush, TriggerSource.Manual, TriggerSource.Promotion, TriggerSource.Event]),
  eventId: z.string().max(128).optional(),
  by: oneLine(256).optional(),
  /** Why it was asked for (a `Switchyard Release Requested` event's reason). */
  reason: oneLine(500).optional(),
  at: z.iso.datetime({ offset: true }),
});

/** An explicit override of freeze windows: who asked and why. */
export const breakGlassSchema = z.object({
  reason: oneLine(500).pipe(z.string().trim().min(3, 'break-glass needs a reason')),
  by: oneLine(256).pipe(z.string().min(1)),
});
export type BreakGlass = z.infer<typeof breakGlassSchema>;

/** Validate's output: which colour goes live and everything later steps need to act on it. */
export const planSchema = z.object({
  fromColour: colourSchema,
  toColour: colourSchema,
  cluster: z.string(),
  fromService: z.string(),
  toService: z.string(),
  container: z.string(),
  desiredCount: z.number().int().positive(),
  fromTaskDefinitionArn: z.string(),
  hasDatabase: z.boolean(),
  graceSeconds: z.number().int().min(0),
  /** Seconds a person has to approve (0: no approval needed). */
  approvalSeconds: z.number().int().min(0).default(0),
  strategy: z.enum([Strategy.AllAtOnce, Strategy.Canary, Strategy.Linear]),
  /** SetWeight + bake steps; the last is 100% with the old-colour-warm bake. */
  steps: z
    .array(z.object({ percent: z.number().int().min(1).max(100), bakeSeconds: z.number().int().min(0) }))
    .min(1),
  /** Set when the release may move traffic inside a freeze window; recorded in the audit trail. */
  breakGlass: breakGlassSchema.optional(),
  /** One-off tasks before the deploy, before any weight moves and after 100% (functions/shared/hooks.ts). */
  hooks: z
    .object({
      preDeploy: z.array(anyHookPlanSchema).default([]),
      preTraffic: z.array(anyHookPlanSchema),
      postTraffic: z.array(anyHookPlanSchema),
    })
    .default({ preDeploy: [], preTraffic: [], postTraffic: [] }),
  /** What the target's migrations leave the old version able to do. */
  migration: z.enum(['none', 'expand', 'breaking']).default('none'),
  /** What the release's own task definition changes against the live one (none: a new image only). */
  changes: z.array(z.string()).default([]),
  /** A breaking migration ran or will: a failure after it holds traffic instead of putting it back. */
  holdOnFailure: z.boolean().default(false),
  /** The services released with the primary (functions/shared/group.ts); empty for one service. */
  members: z.array(memberPlanSchema).default([]),
  /** The members that change colour when traffic reaches 100% (singletons, cut-over workers). */
  cutovers: z.array(memberPlanSchema).default([]),
  /** The target's analysis checks, by name: each bake ends with AnalyseBake when there are any. */
  analysisChecks: z.array(z.string()).default([]),
  /** The checks judged on test traffic before any weight moves (SettleTestTraffic, AnalyseTestTraffic). */
  testTrafficChecks: z.array(z.string()).default([]),
  /** The target this release is promoted from, when its gate must be checked again before traffic moves. */
  promotesFrom: z.string().optional(),
  /** Rollbacks: deploy this (last good) task definition as it is, rather than the live one with a new image. */
  deployTaskDefinitionArn: z.string().optional(),
  /**
   * Whether the target's alarms judge the colour this plan brings in: a release's new version, so
   * CheckHealth waits for them to be quiet before any traffic moves and ScaleDownOldColour before the
   * old colour goes. Not a rollback's: they measure the version it removes, and firing is why it runs
   * (judged by them, an ops rollback during an incident failed its health check and left v2 serving).
   */
  alarmsJudgeNewColour: z.boolean().default(true),
});
export type Plan = z.infer<typeof planSchema>;

/** Input of steps that act on a planned release. */
export const plannedStepSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  plan: planSchema,
});
export type PlannedStep = z.infer<typeof plannedStepSchema>;

/** Input of a group member's step (a Map iteration over the plan's members, functions/shared/group.ts). */
export const memberStepSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  member: memberPlanSchema,
});

/** A member's step that acts on one of its colours: `from` (live before the release) or `to` (new). */
export const memberSideStepSchema = memberStepSchema.extend({
  side: z.enum(['from', 'to']),
  /**
   * On the way forward (the cut-over) a halted release must not move on; on the way back (rollback,
   * clean-up) and after promotion the step acts whatever the record says.
   */
  forward: z.boolean(),
});

export const caughtErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() }).optional();

/**
 * The whole execution state, as failure-path and closing steps receive it (no Parameters): the
 * plan may be missing (Validate failed) and any step's caught error may be present.
 */
export const releaseStateSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  image: imageRefSchema.optional(),
  // A Validate that waited for its turn (registration-turns.ts) and then failed leaves its waiting
  // answer where the plan goes: no plan was made.
  plan: z.preprocess(
    (plan) => (plan && typeof plan === 'object' && 'waitUntil' in plan ? undefined : plan),
    planSchema.optional(),
  ),
  outcome: z.enum(['Promoted', 'Aborted', 'RolledBack', 'Superseded', 'RollbackFailed']).optional(),
  error: caughtErrorSchema,
  cleanupError: caughtErrorSchema,
  rollbackError: caughtErrorSchema,
  scaleDownError: caughtErrorSchema,
  recordError: caughtErrorSchema,
  lockReleaseError: caughtErrorSchema,
});
export type ReleaseState = z.infer<typeof releaseStateSchema>;
