import type { Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as z from 'zod';
import { plannedStepSchema } from '../shared/schemas.ts';
import type { Weights } from '../shared/traffic.ts';

export const inputSchema = plannedStepSchema.extend({
  /** Index into `plan.steps` of the SetWeight to make now. */
  step: z.number().int().min(0),
});
export type Input = z.infer<typeof inputSchema>;

/** Either the weights landed (and the step's bake follows), or a freeze window holds the step back. */
export type Output =
  | {
      frozen: false;
      step: number;
      /** How many steps the plan has. */
      stepCount: number;
      percent: number;
      bakeSeconds: number;
      /** The step after this one; equal to the number of steps when this was the last. */
      next: number;
      last: boolean;
      weights: Weights;
      /** The rule's actions as read back: the bake keeps them for a rollback without a re-read. */
      actions: Action[];
      summary: string;
    }
  | {
      frozen: true;
      step: number;
      next: number;
      /** Seconds until the window ends; the state machine waits that long and tries again. */
      waitSeconds: number;
      window: string;
      until: string;
      /**
       * When the new colour already carries traffic: what the FrozenWatch state watches until the
       * window ends (shaped as a bake of the current weights).
       */
      watch?: {
        step: number;
        stepCount: number;
        percent: number;
        bakeSeconds: number;
        last: false;
        weights: Weights;
        actions: Action[];
      };
      summary: string;
    };
