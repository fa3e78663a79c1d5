import type * as z from 'zod';
import { plannedStepSchema } from '../shared/schemas.ts';

export const inputSchema = plannedStepSchema;
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  /** Snapshots of this target that Switchyard made and kept. */
  kept: string[];
  /** Snapshots deleted now (oldest first). */
  deleted: string[];
}
