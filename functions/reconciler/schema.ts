import * as z from 'zod';

/** Invoked by a schedule; the scheduled event's content is not used. */
export const inputSchema = z.unknown();
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  checked: number;
  resumed: number;
  /** Targets whose lock owner had ended without finishing, recovered now. */
  recovered?: number;
  /** Soaks whose verdict was recorded (and announced) on this tick (soak.ts). */
  soaksJudged?: number;
  /** Warm-ups Lambda accepted on this tick (keep-warm.ts): one per release function while releases wait. */
  warmed?: number;
}
