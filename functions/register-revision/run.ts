import type { ReleaseDeps } from '../shared/deps.ts';
import { ResourceNotFound, RollbackRequested } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import { registrationWait, waitingForTurn } from '../shared/registration-turns.ts';
import { recordRevision, registerRevision } from '../shared/revision.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'ecr' | 'now'>;

/**
 * Registers the release's new revision before anything is deployed, so its preDeploy hooks run the
 * new version; records it, and DeployInactiveColour rolls out that same revision. The first record
 * wins (recordRevision), so the hooks and the deploy never get two different ones. A release whose
 * turn to register is not yet due answers `waitUntil` (shared/registration-turns.ts).
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const release = await deps.store.getRelease(input.releaseId);
  if (!release) throw new ResourceNotFound(`release record ${input.releaseId} not found`);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; nothing registered`);
  const waitUntil = !release.revisionArn && registrationWait(deps, release.registrationTurnAt);
  if (waitUntil) return waitingForTurn(waitUntil);
  const taskDefinitionArn =
    release.revisionArn ??
    (await recordRevision(deps.store, input.releaseId, await registerRevision(input, deps, release)));
  return {
    taskDefinitionArn,
    summary: `registered ${taskDefinitionArn.split('/').at(-1)} for the preDeploy hooks; the deploy rolls it out`,
  };
};
