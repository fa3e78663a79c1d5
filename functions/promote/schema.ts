import * as z from 'zod';
import { RELEASE_STATE_CHANGE, SWITCHYARD_SOURCE } from '../shared/event-patterns.ts';
import { imageRefSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

/** A `Switchyard Release State Change` with state SoakCompleted, as the bus rule delivers it. */
export const inputSchema = z.object({
  id: z.string().min(1).max(128),
  source: z.literal(SWITCHYARD_SOURCE),
  'detail-type': z.literal(RELEASE_STATE_CHANGE),
  time: z.iso.datetime({ offset: true }),
  detail: z.object({
    state: z.literal('SoakCompleted'),
    /** The same for every copy of this state change (events.ts): one promotion per verdict. */
    eventId: z.string().min(1).max(128).optional(),
    releaseId: releaseIdSchema,
    target: targetNameSchema,
    image: imageRefSchema,
  }),
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  started: { target: string; releaseId: string; executionArn: string }[];
  /** Downstream targets that started nothing, and why. */
  skipped: { target: string; reason: string }[];
}
