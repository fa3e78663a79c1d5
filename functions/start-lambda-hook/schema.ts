import * as z from 'zod';
import { lambdaHookPlanSchema } from '../shared/hooks.ts';
import { releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  hook: lambdaHookPlanSchema,
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  /** When the function is about to be invoked (the hook's record starts here). */
  at: string;
  summary: string;
}
