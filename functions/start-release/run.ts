import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type Attempt, nextAttempt } from '../shared/attempts.ts';
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
    const request = (attempt?: Extract<Attempt, { start: true }>) =>
      releaseRequest({
        target: target.name,
        image: image.data,
        at: new Date(event.time),
        trigger: { source: TriggerSource.EcrPush, eventId: event.id },
        ...(attempt ? { attempt } : {}),
      });
    // The common case first, with one read on the push's critical path: the image's first attempt,
    // if its name has no record (Step Functions frees an execution name 90 days after it closed;
    // the record stays). A redelivery of this very event while it runs is answered with the same
    // execution, as AWS does for identical input: nothing new starts.
    const first = request();
    let started = (await deps.store.getRelease(first.name)) ? undefined : await start(deps, first);
    let releaseId = first.name;
    if (!started) {
      // The name is taken: which attempt is this push, if any (attempts.ts)?
      const attempt = await nextAttempt(deps, {
        stateMachineArn: deps.stateMachineArn,
        target: target.name,
        digest: image.data.digest,
        eventId: event.id,
      });
      releaseId = attempt.releaseId;
      if (!attempt.start) {
        logger.info('push starts nothing', { releaseId, target: target.name, reason: attempt.detail });
        output.duplicates.push({ target: target.name, releaseId, reason: attempt.detail });
        continue;
      }
      started = await start(deps, request(attempt));
      if (!started) {
        // Two deliveries of one event racing to the same name: the other one started it.
        output.duplicates.push({ target: target.name, releaseId, reason: `${releaseId} was just started` });
        continue;
      }
      logger.info('retrying an image', { releaseId, attempt: attempt.attempt, retryOf: attempt.retryOf });
    }
    logger.info('release started', { releaseId, target: target.name, executionArn: started });
    output.started.push({ target: target.name, releaseId, executionArn: started });
  }
  return output;
};

/** Starts the execution; its ARN, or undefined when the name is already taken. */
const start = async (deps: Deps, request: { name: string; input: unknown }): Promise<string | undefined> => {
  try {
    const out = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name: request.name,
        input: JSON.stringify(request.input),
      }),
    );
    return out.executionArn ?? '';
  } catch (error) {
    if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
    return undefined;
  }
};
