import * as z from 'zod';
import { colourSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  toColour: colourSchema,
  /** When this state was entered: its retries (inconclusive: extend) judge again a minute later. */
  enteredAt: z.iso.datetime({ offset: true }).optional(),
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  summary: string;
}
