import * as z from 'zod';
import { lambdaHookPlanSchema } from '../shared/hooks.ts';
import { caughtErrorSchema, releaseIdSchema, targetNameSchema } from '../shared/schemas.ts';

/** A hooks Map item's state after the state machine invoked a Lambda hook: its answer, or its error. */
export const inputSchema = z.object({
  releaseId: releaseIdSchema,
  target: targetNameSchema,
  hook: lambdaHookPlanSchema,
  /** When the invoke state was entered (a Pass state before it). */
  started: z.object({ at: z.string() }),
  /** The invocation's answer (the Lambda integration's `Payload`), when it returned. */
  invoked: z.object({ payload: z.unknown() }).optional(),
  /** The invocation's error: the function's own (its errorType), a timeout, or Lambda's. */
  waitError: caughtErrorSchema,
});
export type Input = z.infer<typeof inputSchema>;
export type { HookResult as Output } from '../shared/store.ts';
