/**
 * A Slack button click, as `slack-interactions` hands it to `slack-decisions` after acknowledging
 * it: only what the decision needs, taken from a request whose signature was already verified.
 */
import * as z from 'zod';

export const slackClickSchema = z.object({
  approvalId: z.string(),
  userId: z.string(),
  username: z.string().optional(),
  action: z.enum(['approve', 'reject']),
  responseUrl: z.url().optional(),
  /** When Slack sent it (its signed timestamp, epoch seconds). */
  sentAt: z.number(),
});

export type SlackClick = z.infer<typeof slackClickSchema>;
