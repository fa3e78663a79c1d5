import * as z from 'zod';

/** Step Functions' `Execution Status Change` event, as EventBridge delivers it. */
export const inputSchema = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1).max(80),
    status: z.enum(['ABORTED', 'TIMED_OUT', 'FAILED']),
  }),
});
export type Input = z.infer<typeof inputSchema>;
export type { Recovery as Output } from '../shared/recovery.ts';
