import * as z from 'zod';
import { oneLine } from '../shared/identity.ts';
import { imageRefSchema, releaseIdSchema, targetNameSchema, triggerSchema } from '../shared/schemas.ts';
import { IfRunning, ReleaseKind } from '../shared/vocabulary.ts';

export const inputSchema = z
  .object({
    releaseId: releaseIdSchema,
    kind: z.enum([ReleaseKind.Release, ReleaseKind.Rollback]).default(ReleaseKind.Release),
    target: targetNameSchema,
    /** The image released; rollbacks have none. */
    image: imageRefSchema.optional(),
    /**
     * The execution's whole input (`$$.Execution.Input`), for what an input may or may not carry:
     * which attempt of the image this is, and the attempt before it (attempts.ts). An execution
     * started with an older input shape (or by hand) has neither and is a first attempt.
     */
    request: z
      .looseObject({
        attempt: z.number().int().min(1).optional(),
        retryOf: releaseIdSchema.nullable().optional(),
        /** Rollbacks: past a breaking migration, once the operator restored the snapshot. */
        force: z.boolean().optional(),
      })
      .optional(),
    trigger: triggerSchema,
    /** Rollbacks: what to do about a release holding the lock. */
    ifRunning: z.enum([IfRunning.Wait, IfRunning.Abort]).default(IfRunning.Wait),
    reason: oneLine(500).optional(),
    executionArn: z.string().min(1),
    taskToken: z.string().min(1).max(2048),
  })
  .refine((i) => i.kind === ReleaseKind.Rollback || i.image !== undefined, {
    path: ['image'],
    message: 'a release needs an image',
  });
export type Input = z.infer<typeof inputSchema>;

export type Output = { state: 'acquired' } | { state: 'queued'; behind: string; abortRequested?: boolean };
