import * as z from 'zod';
import { planSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  plan: planSchema,
  /** CheckHealth's output, shown to approvers. */
  health: z.record(z.string(), z.unknown()).optional(),
  taskToken: z.string().min(1).max(2048),
});
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  approvalId: string;
  channels: string[];
  summary: string;
}
