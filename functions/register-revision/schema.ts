import type * as z from 'zod';
import type { WaitingForTurn } from '../shared/registration-turns.ts';
import { plannedStepSchema } from '../shared/schemas.ts';

export const inputSchema = plannedStepSchema;
export type Input = z.infer<typeof inputSchema>;
export type Output =
  | {
      /** The revision the preDeploy hooks run and the deploy then rolls out. */
      taskDefinitionArn: string;
      summary: string;
    }
  /** When to run again: the release's turn to register is not yet due. */
  | WaitingForTurn;
