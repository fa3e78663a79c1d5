import * as z from 'zod';
import { RELEASE_REQUESTED } from '../shared/event-patterns.ts';
import { oneLine } from '../shared/identity.ts';
import { imageRefSchema, targetNameSchema } from '../shared/schemas.ts';

/** The envelope as the bus rule delivers it; the detail is checked in run, so a bad one is explained. */
export const inputSchema = z.object({
  id: z.string().min(1).max(128),
  source: z.string().min(1).max(256),
  account: z.string().max(12).optional(),
  'detail-type': z.literal(RELEASE_REQUESTED),
  time: z.iso.datetime({ offset: true }),
  detail: z.unknown(),
});
export type Input = z.infer<typeof inputSchema>;

/** What a CI sends: the target, the image by tag or digest (or both, which must agree), and why. */
export const requestSchema = z
  .strictObject({
    target: targetNameSchema,
    tag: imageRefSchema.shape.tag.optional(),
    digest: imageRefSchema.shape.digest.optional(),
    reason: oneLine(500).pipe(z.string().trim().min(3, 'say why (at least 3 characters)')),
    /** Who asked, as the CI knows it: recorded as a claim (EventBridge names only the account). */
    requestedBy: oneLine(256).optional(),
  })
  .refine((r) => r.tag !== undefined || r.digest !== undefined, {
    message: 'name the image: tag, digest, or both',
    path: ['tag'],
  });
export type Request = z.infer<typeof requestSchema>;

export type Output =
  | { started: true; target: string; releaseId: string; executionArn: string }
  | { started: false; target: string; releaseId: string; reason: string }
  | { rejected: string };
