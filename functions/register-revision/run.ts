import type { ReleaseDeps } from '../shared/deps.ts';
import { ResourceNotFound, RollbackRequested } from '../shared/errors.ts';
import { haltReason } from '../shared/halt.ts';
import { registerRevision } from '../shared/revision.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'ecr'>;

/**
 * Registers the release's new revision before anything is deployed, so its preDeploy hooks run the
 * new version; records it, and DeployInactiveColour rolls out that same revision. The first record
 * wins: a retry, even one overlapping a still-running first invocation, answers the recorded revision,
 * so the hooks and the deploy never get two different ones (a lost answer's revision is left unused:
 * revisions cost nothing, and Switchyard deletes none).
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const release = await deps.store.getRelease(input.releaseId);
  if (!release) throw new ResourceNotFound(`release record ${input.releaseId} not found`);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; nothing registered`);
  let taskDefinitionArn = release.revisionArn;
  if (!taskDefinitionArn) {
    const registered = await registerRevision(input, deps, release);
    const first = await deps.store.updateRelease(
      input.releaseId,
      { revisionArn: registered },
      { unlessSet: 'revisionArn' },
    );
    taskDefinitionArn = first ? registered : (await deps.store.getRelease(input.releaseId))?.revisionArn;
    if (!taskDefinitionArn) throw new ResourceNotFound(`release record ${input.releaseId} lost its revision`);
  }
  return {
    taskDefinitionArn,
    summary: `registered ${taskDefinitionArn.split('/').at(-1)} for the preDeploy hooks; the deploy rolls it out`,
  };
};
