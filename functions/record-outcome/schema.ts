import type * as z from 'zod';
import { releaseStateSchema } from '../shared/schemas.ts';
import type { Outcome } from '../shared/vocabulary.ts';

export const inputSchema = releaseStateSchema.required({ outcome: true });
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  outcome: Outcome;
}
