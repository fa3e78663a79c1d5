import type * as z from 'zod';
import { memberStepSchema } from '../shared/schemas.ts';

export const inputSchema = memberStepSchema;
export type Input = z.infer<typeof inputSchema>;
export type { MemberStepOutput as Output } from '../shared/group.ts';
