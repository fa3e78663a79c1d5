import * as z from 'zod';
import { hookPlanSchema } from '../shared/hooks.ts';
import { caughtErrorSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

/** A hooks Map item's state after its wait: the task, and how it stopped or why the wait failed. */
export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  hook: hookPlanSchema,
  task: z.object({ cluster: z.string(), taskArn: z.string(), startedAt: z.string() }),
  /** WaitForHook's output: the stopped task (set when the wait succeeded). */
  stopped: z
    .object({
      taskArn: z.string(),
      exitCode: z.number().int().nullable(),
      containerReason: z.string().nullable().optional(),
      stopCode: z.string().nullable(),
      stoppedReason: z.string().nullable(),
      startedAt: z.string().nullable(),
      stoppedAt: z.string(),
    })
    .optional(),
  /** WaitForHook's error (timeout, an alarm after 100%, a rollback asking the release to stop). */
  waitError: caughtErrorSchema,
});
export type Input = z.infer<typeof inputSchema>;
export type { HookResult as Output } from '../shared/store.ts';
