import type * as z from 'zod';
import type { Deployment } from '../shared/ecs.ts';
import type { WaitingForTurn } from '../shared/registration-turns.ts';
import { plannedStepSchema } from '../shared/schemas.ts';

export const inputSchema = plannedStepSchema;
export type Input = z.infer<typeof inputSchema>;

/** The deployment, or when to run again: the release's turn to register is not yet due. */
export type Output = Deployment | WaitingForTurn;
