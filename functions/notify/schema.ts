import type * as z from 'zod';
import { releaseStateSchema } from '../shared/schemas.ts';

export const inputSchema = releaseStateSchema.required({ outcome: true });
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  messageId: string;
}
