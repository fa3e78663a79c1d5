import type { ReleaseDeps } from '../shared/deps.ts';
import { ResourceNotFound, RollbackRequested } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import { registerRevision } from '../shared/revision.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'ecr'>;

/**
 * Registers the release's new revision before anything is deployed, so its preDeploy hooks run the
 * new version; records it, and DeployInactiveColour rolls out that same revision. A retry after the
 * record was written returns the recorded revision (one whose answer was lost registers another,
 * unused: revisions cost nothing and are never deleted by Switchyard).
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const release = await deps.store.getRelease(input.releaseId);
  if (!release) throw new ResourceNotFound(`release record ${input.releaseId} not found`);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; nothing registered`);
  const taskDefinitionArn = release.revisionArn ?? (await registerRevision(input, deps, release));
  if (!release.revisionArn)
    await deps.store.updateRelease(input.releaseId, { revisionArn: taskDefinitionArn });
  return {
    taskDefinitionArn,
    summary: `registered ${taskDefinitionArn.split('/').at(-1)} for the preDeploy hooks; the deploy rolls it out`,
  };
};
