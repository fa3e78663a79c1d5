import type * as z from 'zod';
import { plannedStepSchema } from '../shared/schemas.ts';
import type { Weights } from '../shared/traffic.ts';

export const inputSchema = plannedStepSchema;
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  weights: Weights;
  percent: Weights;
}
