import * as z from 'zod';
import { strategySchema } from '../shared/config.ts';
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
export type { Plan as Output } from '../shared/schemas.ts';
