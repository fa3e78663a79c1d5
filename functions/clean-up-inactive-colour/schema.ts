import type * as z from 'zod';
import { releaseStateSchema } from '../shared/schemas.ts';

export const inputSchema = releaseStateSchema;
export type Input = z.infer<typeof inputSchema>;
export type Output = { skipped: string } | { service: string; desiredCount: 0 };
