import * as z from 'zod';
import { releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

export const inputSchema = z.object({ releaseId: releaseIdSchema, target: targetNameSchema });
export type Input = z.infer<typeof inputSchema>;
export type Output = { released: true; handedTo?: string } | { released: false; reason: string };
