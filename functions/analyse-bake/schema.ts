import * as z from 'zod';
import { colourSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  toColour: colourSchema,
  /** When this state was entered: its retries (an extended bake) keep the window's start. */
  enteredAt: z.iso.datetime({ offset: true }).optional(),
  /** The step whose bake just ended (ShiftTraffic's report). */
  traffic: z.object({
    step: z.number().int().min(0),
    percent: z.number().int().min(1).max(100),
    bakeSeconds: z.number().int().min(0),
  }),
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  summary: string;
}
