import * as z from 'zod';
import { type Plan, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';
import type { RollbackPath } from '../shared/vocabulary.ts';

export const inputSchema = z.object({ releaseId: releaseIdSchema, target: targetNameSchema });
export type Input = z.infer<typeof inputSchema>;

/** A release plan that puts the previous version back, plus how. */
export type Output = Plan & {
  path: RollbackPath;
  /** The release being rolled back (or the release that rolled itself back at this rollback's request). */
  rollbackOf: string;
  /** The snapshot a database restore would use; never restored automatically. */
  snapshotId: string | null;
  summary: string;
};
