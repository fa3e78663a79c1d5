/**
 * A warm-up: an invocation that runs a function's init and nothing else, so that the release step
 * Step Functions invokes next finds an environment ready instead of starting cold (keep-warm.ts
 * sends them). This module has no SDK client in it: every step's middleware chain imports it.
 */
import type { MiddlewareObj } from '@middy/core';

/** The event a warm-up sends. No release step's input has this field. */
export const WARM_UP_EVENT = { switchyardWarmUp: true } as const;

export const isWarmUp = (event: unknown): boolean =>
  typeof event === 'object' && event !== null && (event as Record<string, unknown>).switchyardWarmUp === true;

/**
 * First in every step's chain: a warm-up answers at once. Nothing else runs (no input validation, no
 * audit phase, no logging), so it costs the init it exists for and a millisecond.
 */
export const answerWarmUp = (): MiddlewareObj => ({
  name: 'answerWarmUp',
  // Returning a value from `before` ends the middy chain there (@middy/core's early response).
  before: async (request) => {
    if (!isWarmUp(request.event)) return undefined;
    // Several warm-ups of one function at once keep several environments only if they overlap:
    // one that answered in a millisecond could take the next one's event too. So each holds its
    // environment a moment (at most a second).
    const holdMs = Math.min(Number((request.event as { holdMs?: unknown }).holdMs) || 0, 1000);
    if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
    return { warmedUp: true };
  },
});

/** How long each of several simultaneous warm-ups of one function holds its environment. */
export const WARM_UP_HOLD_MS = 100;
