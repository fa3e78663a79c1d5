import type { TargetsFile } from '../shared/config.ts';
import { logger } from '../shared/logger.ts';
import { downstreamsOf } from '../shared/promotion.ts';
import { type StarterDeps, startImage } from '../shared/starter.ts';
import { TriggerSource } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

interface Deps extends StarterDeps {
  targets: TargetsFile;
}

/**
 * An upstream release's soak completed: each target promoted from it with `automatic` starts a
 * release of the same digest (in its own repository; the upstream tag names it). Validate checks
 * the gate again from the records, so a stale or forged event cannot pass an image that has not
 * earned it; approval, freeze windows and the lock apply as to any release.
 */
export const run = async (event: Input, deps: Deps): Promise<Output> => {
  const { detail } = event;
  const output: Output = { started: [], skipped: [] };
  for (const target of downstreamsOf(deps.targets, detail.target)) {
    if (!target.promotesFrom?.automatic) {
      output.skipped.push({
        target: target.name,
        reason: 'promotion is manual (promotesFrom.automatic is false): release it when ready',
      });
      continue;
    }
    const result = await startImage(deps, {
      target: target.name,
      image: { ...detail.image, repository: target.image.repository },
      at: new Date(event.time),
      trigger: {
        source: TriggerSource.Promotion,
        // Not the envelope's id, new on every PutEvents: a verdict sent twice (a retried or
        // re-sent publish) must find the attempt it already started (attempts.ts).
        eventId: detail.eventId ?? event.id,
        by: `promotion of ${detail.releaseId}`,
        reason: `${detail.target} soaked ${detail.image.tag} and its soak completed`,
      },
    });
    if (result.started) {
      const { releaseId, executionArn } = result;
      output.started.push({ target: target.name, releaseId, executionArn });
    } else output.skipped.push({ target: target.name, reason: result.reason });
  }
  logger.info('promotion', { upstream: detail.releaseId, ...output });
  return output;
};
