import type * as z from 'zod';
import { memberSideStepSchema } from '../shared/schemas.ts';

export const inputSchema = memberSideStepSchema;
export type Input = z.infer<typeof inputSchema>;
export type { MemberStepOutput as Output } from '../shared/group.ts';
