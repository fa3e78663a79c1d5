import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { nextAttempt } from '../shared/attempts.ts';
import { type TargetsFile, targetsForImage } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import { releaseRequest } from '../shared/requests.ts';
import { imageRefSchema } from '../shared/schemas.ts';
import { TriggerSource } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

interface Deps extends Pick<ReleaseDeps, 'sfn' | 'store'> {
  targets: TargetsFile;
  stateMachineArn: string;
}

// Execution name = release id, deterministic per attempt (attempts.ts): a redelivered event, or a
// second tag on an image being released or live, starts nothing new; a new push of an image whose
// last attempt ended without it live starts the next attempt.

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

  const output: Output = { started: [], duplicates: [], ignored: undefined };
  for (const target of targets) {
    const attempt = await nextAttempt(deps, {
      stateMachineArn: deps.stateMachineArn,
      target: target.name,
      digest: image.data.digest,
      eventId: event.id,
    });
    if (!attempt.start) {
      logger.info('push starts nothing', {
        releaseId: attempt.releaseId,
        target: target.name,
        reason: attempt.detail,
      });
      output.duplicates.push({ target: target.name, releaseId: attempt.releaseId, reason: attempt.detail });
      continue;
    }
    const { name: releaseId, input } = releaseRequest({
      target: target.name,
      image: image.data,
      at: new Date(event.time),
      trigger: { source: TriggerSource.EcrPush, eventId: event.id },
      attempt,
    });
    try {
      const out = await deps.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: deps.stateMachineArn,
          name: releaseId,
          input: JSON.stringify(input),
        }),
      );
      logger.info('release started', {
        releaseId,
        target: target.name,
        executionArn: out.executionArn,
        ...(attempt.retryOf ? { attempt: attempt.attempt, retryOf: attempt.retryOf.releaseId } : {}),
      });
      output.started.push({ target: target.name, releaseId, executionArn: out.executionArn ?? '' });
    } catch (error) {
      // Two deliveries of one event racing to the same name: the other one started it.
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
      output.duplicates.push({ target: target.name, releaseId, reason: `${releaseId} was just started` });
    }
  }
  return output;
};
