import * as z from 'zod';

/** The `ECR Image Action` event as EventBridge delivers it. */
export const inputSchema = z.object({
  id: z.string().min(1).max(128),
  source: z.literal('aws.ecr'),
  'detail-type': z.literal('ECR Image Action'),
  time: z.iso.datetime({ offset: true }),
  detail: z.object({
    'action-type': z.string(),
    result: z.string(),
    'repository-name': z.string().min(1).max(256),
    'image-digest': z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>'),
    'image-tag': z.string().max(128).optional(),
  }),
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  started: { target: string; releaseId: string; executionArn: string }[];
  /** Pushes that start nothing for a target, and why (attempts.ts). */
  duplicates: { target: string; releaseId: string; reason: string }[];
  ignored: string | undefined;
}
