import { type TargetsFile, targetsForImage } from '../shared/config.ts';
import { type KeepWarmDeps, keepWarmOnce } from '../shared/keep-warm.ts';
import { logger } from '../shared/logger.ts';
import { imageRefSchema } from '../shared/schemas.ts';
import { type StarterDeps, startImage } from '../shared/starter.ts';
import { TriggerSource } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

interface Deps extends StarterDeps, KeepWarmDeps {
  targets: TargetsFile;
  now: () => Date;
}

/** Starts one release per target the pushed repository and tag map to; other pushes are ignored with a reason. */
export const run = async (event: Input, deps: Deps): Promise<Output> => {
  const { detail } = event;
  const ignore = (reason: string): Output => {
    logger.info('push ignored', { reason, repository: detail['repository-name'], tag: detail['image-tag'] });
    return { started: [], duplicates: [], ignored: reason };
  };
  if (detail['action-type'] !== 'PUSH' || detail.result !== 'SUCCESS') {
    return ignore(`not a successful push (action-type ${detail['action-type']}, result ${detail.result})`);
  }
  const tag = detail['image-tag'];
  if (!tag) return ignore('untagged push: tags select targets');
  const image = imageRefSchema.safeParse({
    repository: detail['repository-name'],
    tag,
    digest: detail['image-digest'],
  });
  if (!image.success) return ignore(`tag "${tag.slice(0, 40)}" is not a valid image tag`);
  const targets = targetsForImage(deps.targets, detail['repository-name'], tag);
  if (targets.length === 0) {
    return ignore(
      `no target releases ${detail['repository-name']}:${tag} (no repository and tag pattern match)`,
    );
  }

  // The release's first steps run within a second: their environments start beside the start
  // (keep-warm.ts), and the steps after the lock find them ready.
  const warming = keepWarmOnce(deps, Math.max(0, ...targets.map((t) => t.group.length)));
  const output: Output = { started: [], duplicates: [], ignored: undefined };
  for (const target of targets) {
    const result = await startImage(deps, {
      target: target.name,
      image: image.data,
      at: new Date(event.time),
      trigger: { source: TriggerSource.EcrPush, eventId: event.id },
    });
    if (result.started) {
      const { target, releaseId, executionArn } = result;
      output.started.push({ target, releaseId, executionArn });
    } else {
      const { target, releaseId, reason } = result;
      output.duplicates.push({ target, releaseId, reason });
    }
  }
  await warming;
  return output;
};
