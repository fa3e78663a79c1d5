import { type RecoveryDeps, recoverExecution } from '../shared/recovery.ts';
import type { Input, Output } from './schema.ts';

/**
 * A release or rollback execution ended without finishing (stopped, timed out, failed outside its
 * Catches): recover its target now. The execution name is the release id.
 */
export const run = (input: Input, deps: RecoveryDeps): Promise<Output> =>
  recoverExecution(input.detail.name, input.detail.status, deps);
