import type * as z from 'zod';
import { plannedStepSchema } from '../shared/schemas.ts';

export const inputSchema = plannedStepSchema;
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  healthyTargets: number;
  probes?: { count: number; p95Ms: number; errorRate: number; url: string };
  /** Each measure against its limit, on one line: the phase's detail in the audit trail. */
  summary: string;
}
