import * as z from 'zod';
import { imageRefSchema, releaseIdSchema } from '../shared/schemas.ts';

/** A `Switchyard Release State Change` with state SoakCompleted, as the bus rule delivers it. */
export const inputSchema = z.object({
  id: z.string().min(1).max(128),
  source: z.literal('switchyard'),
  'detail-type': z.literal('Switchyard Release State Change'),
  time: z.iso.datetime({ offset: true }),
  detail: z.object({
    state: z.literal('SoakCompleted'),
    /** The same for every copy of this state change (events.ts): one promotion per verdict. */
    eventId: z.string().min(1).max(128).optional(),
    releaseId: releaseIdSchema,
    target: z.string().min(1).max(40),
    image: imageRefSchema,
  }),
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  started: { target: string; releaseId: string; executionArn: string }[];
  /** Downstream targets that started nothing, and why. */
  skipped: { target: string; reason: string }[];
}
