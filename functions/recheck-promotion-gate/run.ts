import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { PromotionGateClosed } from '../shared/errors.ts';
import { promotionGate } from '../shared/promotion.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'now'>;

/**
 * The promotion gate again, just before anything runs against the new version or traffic moves:
 * Validate checked it, but an approval may have waited for days since, and the upstream may have
 * been rolled back meanwhile. A gate that closed aborts the release (the new colour is cleaned up,
 * nothing shifted); one passed with break-glass stays passed.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const gate = await promotionGate(target, input.image.digest, deps);
  if (!gate) return { summary: `${target.name} is no longer promoted from another target` };
  if (!gate.open)
    throw new PromotionGateClosed(
      `${gate.reason} (it was open at Validate; checked again before traffic moves)`,
    );
  return {
    summary: `still open: ${gate.evidence.releaseId} in ${gate.evidence.from} is Promoted, soaked and not rolled back`,
  };
};
