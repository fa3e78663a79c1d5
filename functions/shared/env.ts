import * as z from 'zod';
import { formatIssues } from './config.ts';

/** Environment variables a step may need; each handler picks the ones it uses. */
export const envVars = {
  SWITCHYARD_TARGETS_FILE: z.string().min(1),
  LOCKS_TABLE: z.string().min(3),
  RELEASES_TABLE: z.string().min(3),
  WAITS_TABLE: z.string().min(3),
  APPROVALS_TABLE: z.string().min(3),
  /** Secrets Manager secret holding the key that signs approval links. */
  APPROVAL_KEY_SECRET: z.string().min(1),
  /** Where approval links point: the approval API's base URL. */
  APPROVAL_BASE_URL: z.url(),
  /** Secrets Manager secret holding the Slack app's signing secret. */
  SLACK_SIGNING_SECRET_SECRET: z.string().min(1),
  RELEASE_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  /** The function that takes Slack clicks' decisions, after slack-interactions acknowledged them. */
  SLACK_DECISIONS_FUNCTION: z.string().min(1),
} as const;
type EnvVar = keyof typeof envVars;

/**
 * Reads and validates the named variables once, at cold start. A missing or malformed one throws
 * here, so the function fails loudly at init rather than halfway through a release.
 */
export const readEnv = <K extends EnvVar>(...keys: K[]): { [P in K]: z.infer<(typeof envVars)[P]> } => {
  const shape = Object.fromEntries(keys.map((k) => [k, envVars[k]]));
  const result = z.object(shape).safeParse(process.env);
  if (!result.success) {
    throw new Error(`Switchyard function environment is invalid:\n${formatIssues(result.error)}`);
  }
  return result.data as { [P in K]: z.infer<(typeof envVars)[P]> };
};
