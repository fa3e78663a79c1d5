import * as z from 'zod';
import { imageRefSchema, planSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  image: imageRefSchema,
  plan: planSchema,
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  summary: string;
}
