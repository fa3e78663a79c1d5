import type * as z from 'zod';
import type { MemberStepOutput } from '../shared/group.ts';
import type { WaitingForTurn } from '../shared/registration-turns.ts';
import { memberStepSchema } from '../shared/schemas.ts';

export const inputSchema = memberStepSchema;
export type Input = z.infer<typeof inputSchema>;

/** The member's deployment, or when to run again: its turn to register is not yet due. */
export type Output = MemberStepOutput | WaitingForTurn;
