import * as z from 'zod';
import { imageRefSchema, releaseIdSchema, targetNameSchema, triggerSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  image: imageRefSchema,
  trigger: triggerSchema,
  executionArn: z.string().min(1),
  taskToken: z.string().min(1).max(2048),
});
export type Input = z.infer<typeof inputSchema>;

export type Output = { state: 'acquired' } | { state: 'queued'; behind: string };
