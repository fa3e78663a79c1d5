import * as z from 'zod';
import { imageRefSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  image: imageRefSchema,
});
export type Input = z.infer<typeof inputSchema>;
export type { Plan as Output } from '../shared/schemas.ts';
