/**
 * Traffic strategies as a list of steps. Each step is one SetWeight (the new colour's percent of
 * traffic) followed by a bake that watches the target's alarms. The last step is always 100%, and
 * its bake is the old-colour-warm bake: the old colour is scaled down only after it.
 */
import type { Colour } from './vocabulary.ts';
import { otherColour, Strategy } from './vocabulary.ts';

export type StrategyConfig =
  | { type: typeof Strategy.AllAtOnce }
  | { type: typeof Strategy.Canary; percent: number; bakeMinutes: number }
  | { type: typeof Strategy.Linear; stepPercent: number; stepBakeMinutes: number };

export interface TrafficStep {
  /** Percent of traffic on the new colour once this step's SetWeight landed. */
  percent: number;
  /** How long to watch alarms at this percent before the next step (0: no bake). */
  bakeSeconds: number;
}

const seconds = (minutes: number) => Math.round(minutes * 60);

/** The steps a strategy takes, ending at 100% with the old-colour-warm bake of `finalBakeMinutes`. */
export const planSteps = (strategy: StrategyConfig, finalBakeMinutes: number): TrafficStep[] => {
  const last = { percent: 100, bakeSeconds: seconds(finalBakeMinutes) };
  switch (strategy.type) {
    case Strategy.AllAtOnce:
      return [last];
    case Strategy.Canary:
      return [{ percent: strategy.percent, bakeSeconds: seconds(strategy.bakeMinutes) }, last];
    case Strategy.Linear: {
      const steps: TrafficStep[] = [];
      for (let p = strategy.stepPercent; p < 100; p += strategy.stepPercent) {
        steps.push({ percent: p, bakeSeconds: seconds(strategy.stepBakeMinutes) });
      }
      return [...steps, last];
    }
  }
};

/**
 * ALB weights for `percent` on `toColour`. Weights are relative (0–999 each, AWS defines the share
 * as weight / sum), so percents are used as weights directly: 10% → new 10, old 90.
 */
export const weightsFor = (toColour: Colour, percent: number): Record<Colour, number> => {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`percent must be an integer 0-100, got ${percent}`);
  }
  return { [toColour]: percent, [otherColour(toColour)]: 100 - percent } as Record<Colour, number>;
};
