import * as z from 'zod';
import { strategySchema } from '../shared/config.ts';
import type { WaitingForTurn } from '../shared/registration-turns.ts';
import type { Plan } from '../shared/schemas.ts';
import { breakGlassSchema, imageRefSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';
import { taskDefinitionFileSchema } from '../shared/task-definition.ts';

/** The execution's state (Validate has no Parameters): the release request as started. */
export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  image: imageRefSchema,
  breakGlass: breakGlassSchema.nullish(),
  /** A manual release may override the target's strategy for this release only. */
  strategy: strategySchema.optional(),
  /** A release carrying its own task definition (task-definition.ts) instead of the live one's copy. */
  taskDefinition: taskDefinitionFileSchema.optional(),
});
export type Input = z.infer<typeof inputSchema>;

/** The plan, or when to run again: the release's turn to be validated is not yet due. */
export type Output = Plan | WaitingForTurn;
