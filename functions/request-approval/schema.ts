import * as z from 'zod';
import { planSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  plan: planSchema,
  /** CheckHealth's output, shown to approvers. */
  health: z.record(z.string(), z.unknown()).optional(),
  taskToken: z.string().min(1).max(2048),
  /** When WaitForApproval was entered: its timeout runs from then, so the deadline does too. */
  enteredAt: z.iso.datetime({ offset: true }).optional(),
});
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  approvalId: string;
  channels: string[];
  summary: string;
}
