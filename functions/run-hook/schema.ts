import * as z from 'zod';
import { hookPlanSchema } from '../shared/hooks.ts';
import { releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

/** One item of a hooks Map: the hook and the release's new revision (what it runs by default). */
export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  hook: hookPlanSchema,
  taskDefinitionArn: z.string().min(1),
});
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  cluster: string;
  taskArn: string;
  startedAt: string;
  summary: string;
}
