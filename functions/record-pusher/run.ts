import type { BaseDeps } from '../shared/deps.ts';
import { controlCharacterProblem } from '../shared/identity.ts';
import type { Input, Output } from './schema.ts';

/**
 * Records who pushed an image, from CloudTrail's PutImage record: the IAM principal's ARN (an IAM
 * user, or an assumed role's session such as an IAM Identity Center user or a CI role), or the AWS
 * service that pushed on someone's behalf. The approval request reads it (the pusher is the
 * release's requester, never allowed to approve it), and so does every decision, for a record that
 * arrives after the approvers were asked: CloudTrail gives no delivery time.
 */
export const run = async (input: Input, deps: Pick<BaseDeps, 'store'>): Promise<Output> => {
  const { detail } = input;
  if (detail.errorCode) return { ignored: `PutImage failed (${detail.errorCode}): nothing was pushed` };
  const image = detail.responseElements?.image;
  if (!image) return { ignored: 'PutImage record without responseElements.image' };
  const by = detail.userIdentity.arn ?? detail.userIdentity.invokedBy;
  if (!by) return { ignored: `PutImage by a ${detail.userIdentity.type} identity with no ARN` };
  const problem = controlCharacterProblem('userIdentity', by);
  if (problem) return { ignored: problem };
  const push = { repository: image.repositoryName, digest: image.imageId.imageDigest, by };
  await deps.store.recordPush({ ...push, tag: image.imageId.imageTag, at: detail.eventTime });
  return { recorded: push };
};
