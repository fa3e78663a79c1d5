/**
 * Starting one release of an image on one target, for everything that starts releases from an
 * event: an ECR push (start-release), a soak completed upstream (promote) and a `Switchyard Release
 * Requested` event (request-release). Execution name = release id, deterministic per attempt
 * (attempts.ts): a redelivered event, or a second tag on an image being released or live, starts
 * nothing new; a new request for an image whose last attempt ended without it live starts the next
 * attempt.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type Attempt, nextAttempt } from './attempts.ts';
import type { ReleaseDeps } from './deps.ts';
import { logger } from './logger.ts';
import { type ImageRef, releaseRequest } from './requests.ts';
import type { TriggerSource } from './vocabulary.ts';

export interface StarterDeps extends Pick<ReleaseDeps, 'sfn' | 'store'> {
  stateMachineArn: string;
}

export type StartResult =
  | { started: true; target: string; releaseId: string; executionArn: string }
  | { started: false; target: string; releaseId: string; reason: string };

export const startImage = async (
  deps: StarterDeps,
  request: {
    target: string;
    image: ImageRef;
    at: Date;
    trigger: { source: TriggerSource; eventId: string; by?: string; reason?: string };
  },
): Promise<StartResult> => {
  const build = (attempt?: Extract<Attempt, { start: true }>) =>
    releaseRequest({ ...request, ...(attempt ? { attempt } : {}) });
  // The common case first, with one read on the critical path: the image's first attempt, if its
  // name has no record (Step Functions frees an execution name 90 days after it closed; the record
  // stays). A redelivery of this very event while it runs is answered with the same execution, as
  // AWS does for identical input: nothing new starts.
  const first = build();
  let started = (await deps.store.getRelease(first.name)) ? undefined : await start(deps, first);
  let releaseId = first.name;
  if (!started) {
    // The name is taken: which attempt is this request, if any (attempts.ts)?
    const attempt = await nextAttempt(deps, {
      stateMachineArn: deps.stateMachineArn,
      target: request.target,
      digest: request.image.digest,
      eventId: request.trigger.eventId,
    });
    releaseId = attempt.releaseId;
    if (!attempt.start) {
      logger.info('request starts nothing', { releaseId, target: request.target, reason: attempt.detail });
      return { started: false, target: request.target, releaseId, reason: attempt.detail };
    }
    started = await start(deps, build(attempt));
    if (!started) {
      // Two deliveries of one event racing to the same name: the other one started it.
      return { started: false, target: request.target, releaseId, reason: `${releaseId} was just started` };
    }
    logger.info('retrying an image', { releaseId, attempt: attempt.attempt, retryOf: attempt.retryOf });
  }
  logger.info('release started', { releaseId, target: request.target, executionArn: started });
  return { started: true, target: request.target, releaseId, executionArn: started };
};

/** Starts the execution; its ARN, or undefined when the name is already taken. */
const start = async (
  deps: StarterDeps,
  request: { name: string; input: unknown },
): Promise<string | undefined> => {
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
