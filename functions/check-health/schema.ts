import * as z from 'zod';
import { plannedStepSchema } from '../shared/schemas.ts';

export const inputSchema = plannedStepSchema.extend({
  /**
   * When this execution started (`$$.Execution.StartTime`): a stopped task created before it is not
   * this release's (or rollback's) doing, whichever deployment it belonged to.
   */
  executionStartedAt: z.iso.datetime({ offset: true }).optional(),
});
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  healthyTargets: number;
  probes?: { count: number; p95Ms: number; errorRate: number; url: string };
  /** Each measure against its limit, on one line: the phase's detail in the audit trail. */
  summary: string;
}
