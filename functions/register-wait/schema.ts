import * as z from 'zod';
import { memberPlanSchema } from '../shared/group.ts';
import { hookPlanSchema } from '../shared/hooks.ts';
import { colourSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';
import { WaitKind } from '../shared/vocabulary.ts';

const common = {
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  taskToken: z.string().min(1).max(2048),
};

/** What a watch over traffic on the new colour needs: ShiftTraffic's output for the step. */
const watched = {
  /** When the Task began (`$$.State.EnteredTime`): its timeout, and so the watch, counts from then. */
  enteredAt: z.iso.datetime({ offset: true }).optional(),
  traffic: z.object({
    step: z.number().int().min(0),
    stepCount: z.number().int().min(1),
    percent: z.number().int().min(1).max(100),
    /** How long the watch lasts (the bake, or until the freeze window ends). */
    bakeSeconds: z.number().int().min(1),
    last: z.boolean(),
    weights: z.object({ blue: z.number().int().min(0), green: z.number().int().min(0) }),
    /** The rule's actions as ShiftTraffic read them back (kept for the fast rollback). */
    actions: z
      .array(z.looseObject({ Type: z.string() }))
      .max(10)
      .optional(),
  }),
  toColour: colourSchema,
  /** The plan's holdOnFailure: a failed watch must not put traffic back (a breaking migration ran). */
  hold: z.boolean().optional(),
  /** The plan's group: web members' rules go back with the primary's, their targets are watched too. */
  members: z.array(memberPlanSchema).optional(),
};

/** Which of a group member's waits this is (one member may wait on one service more than once). */
const memberWait = {
  member: z.string().min(1).max(30).optional(),
  label: z.enum(['deploy', 'cutover', 'rollback']).optional(),
};

export const inputSchema = z.discriminatedUnion('kind', [
  z.object({
    ...common,
    kind: z.literal(WaitKind.ServiceStable),
    deployment: z.object({
      cluster: z.string(),
      service: z.string(),
      taskDefinitionArn: z.string(),
      /** The count the deploy set: until ECS shows it, the service is not stable on it. */
      desiredCount: z.number().int().min(0).optional(),
      /** The deployment it started: a read that does not list it yet does not show the update yet. */
      deploymentId: z.string().min(1).optional(),
    }),
    /** The plan's health grace: the wait's output says when it ends (counted from stability). */
    graceSeconds: z.number().int().min(0).optional(),
    ...memberWait,
  }),
  z.object({
    ...common,
    kind: z.literal(WaitKind.ServiceDrained),
    service: z.object({ cluster: z.string().min(1), service: z.string().min(1) }),
    /**
     * Only its stopping tasks: done once none of them is still exiting, whatever runs (a colour
     * about to be started again must not start beside its own last process).
     */
    stoppingOnly: z.boolean().optional(),
    ...memberWait,
  }),
  z.object({ ...common, kind: z.literal(WaitKind.Bake), ...watched }),
  z.object({
    ...common,
    kind: z.literal(WaitKind.Freeze),
    ...watched,
    /** The freeze window holding the step back. */
    window: z.string().min(1),
  }),
  z.object({
    ...common,
    kind: z.literal(WaitKind.HookTask),
    enteredAt: z.iso.datetime({ offset: true }).optional(),
    hook: hookPlanSchema.pick({ name: true, point: true, container: true, migration: true }),
    task: z.object({ cluster: z.string().min(1), taskArn: z.string().min(1) }),
  }),
  z.object({
    ...common,
    kind: z.literal(WaitKind.SnapshotAvailable),
    snapshot: z.object({ snapshotId: z.string(), databaseKind: z.enum(['instance', 'cluster']) }),
  }),
]);
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  waitId: string;
  state: 'pending' | 'done' | 'failed';
}
