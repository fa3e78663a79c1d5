import type * as z from 'zod';
import { plannedStepSchema } from '../shared/schemas.ts';

export const inputSchema = plannedStepSchema;
export type Input = z.infer<typeof inputSchema>;
export type { Deployment as Output } from '../shared/ecs.ts';
