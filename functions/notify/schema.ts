import type * as z from 'zod';
import type { Delivery } from '../shared/notifications.ts';
import { releaseStateSchema } from '../shared/schemas.ts';

export const inputSchema = releaseStateSchema.required({ outcome: true });
export type Input = z.infer<typeof inputSchema>;
export type Output = Delivery & { summary: string };
