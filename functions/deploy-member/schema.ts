import type * as z from 'zod';
import { memberStepSchema } from '../shared/schemas.ts';

export const inputSchema = memberStepSchema;
export type Input = z.infer<typeof inputSchema>;

import type { MemberStepOutput } from '../shared/group.ts';

/** The member's deployment, or when to run again: its turn to register is not yet due. */
export type Output = MemberStepOutput | { waitUntil: string; summary: string };
