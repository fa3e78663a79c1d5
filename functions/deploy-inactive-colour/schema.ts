import type * as z from 'zod';
import { plannedStepSchema } from '../shared/schemas.ts';

export const inputSchema = plannedStepSchema;
export type Input = z.infer<typeof inputSchema>;

import type { Deployment } from '../shared/ecs.ts';

/** The deployment, or when to run again: the release's turn to register is not yet due. */
export type Output = Deployment | { waitUntil: string; summary: string };
