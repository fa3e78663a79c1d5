import type * as z from 'zod';
import { releaseStateSchema } from '../shared/schemas.ts';
import type { Weights } from '../shared/traffic.ts';

export const inputSchema = releaseStateSchema;
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  weights: Weights;
  scaledDown: string;
  summary: string;
}
