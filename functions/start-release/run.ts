import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type TargetsFile, targetsForImage } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import { releaseRequest } from '../shared/requests.ts';
import { imageRefSchema } from '../shared/schemas.ts';
import { TriggerSource } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

interface Deps extends Pick<ReleaseDeps, 'sfn'> {
  targets: TargetsFile;
  stateMachineArn: string;
}

// Execution name = release id (releaseIdFor): deterministic, so a redelivered event or a second tag
// on the same image starts nothing new (StartExecution answers ExecutionAlreadyExists, or returns
// the open execution for identical input).

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
    const { name: releaseId, input } = releaseRequest({
      target: target.name,
      image: image.data,
      at: new Date(event.time),
      trigger: { source: TriggerSource.EcrPush, eventId: event.id },
    });
    try {
      const out = await deps.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: deps.stateMachineArn,
          name: releaseId,
          input: JSON.stringify(input),
        }),
      );
      logger.info('release started', { releaseId, target: target.name, executionArn: out.executionArn });
      output.started.push({ target: target.name, releaseId, executionArn: out.executionArn ?? '' });
    } catch (error) {
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
      logger.info('release already started for this image', { releaseId, target: target.name });
      output.duplicates.push({ target: target.name, releaseId });
    }
  }
  return output;
};
