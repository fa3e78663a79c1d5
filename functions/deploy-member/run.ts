import type { ReleaseDeps } from '../shared/deps.ts';
import { RollbackRequested } from '../shared/errors.ts';
import { deployCount } from '../shared/group.ts';
import { deployFenced, haltReason } from '../shared/halt.ts';
import { registrationWait, waitingForTurn } from '../shared/registration-turns.ts';
import { deployRevision } from '../shared/revision.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'store' | 'ecs' | 'now' | 'invocationEndsAt' | 'invocationId'>;

/**
 * One member of the release's group: registers its live task definition again with the member's
 * image pinned by digest, and points its idle colour at it: a web member or a worker at the live
 * colour's size, a singleton at 0 (it starts only at the cut-over, once its old colour has stopped).
 * Idempotent as DeployInactiveColour is: a retry finds the revision this release registered. It
 * deploys holding its claim on the member's service (shared/service-claims.ts). A
 * member whose turn to register is not yet due answers `waitUntil` (shared/registration-turns.ts).
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const { member } = input;
  const release = await deps.store.getRelease(input.releaseId);
  const halted = haltReason(release);
  if (halted) throw new RollbackRequested(`${halted}; ${member.name} not deployed`);
  const waitUntil = registrationWait(deps, release?.memberRegistrationTurns?.[member.name]);
  if (waitUntil) return waitingForTurn(waitUntil, `${member.name}: `);
  const taskDefinitionArn = await memberTaskDefinition(input, deps);
  const desiredCount = deployCount(member);
  const deployment = { cluster: member.cluster, service: member.toService, taskDefinitionArn, desiredCount };
  const deploymentId = await deployFenced(deps, input.releaseId, deployment, member.name);
  return {
    ...deployment,
    deploymentId,
    summary: `${member.name} (${member.role}): ${member.toService} on ${taskDefinitionArn.split('/').at(-1)} at ${desiredCount}${desiredCount === 0 ? ' (starts at the cut-over)' : ''}`,
  };
};

/** The member's revision: the one this release registered (a retry), else its live one with its image. */
const memberTaskDefinition = async (input: Input, deps: Deps): Promise<string> => {
  const { member } = input;
  const where = { cluster: member.cluster, service: member.toService, container: member.container };
  return deployRevision(
    deps.ecs,
    input.releaseId,
    where,
    { taskDefinitionArn: member.fromTaskDefinitionArn },
    Promise.resolve(member.image),
  );
};
