/**
 * Which version a colour runs: its task definition's container image, as the digest it is pinned
 * to and that digest's tags in ECR. Read by `switchyard status` and by the approval request (the
 * page says what the release replaces: live tag/digest → new tag/digest).
 */
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { containerImage, digestOf } from './ecs.ts';

export interface RunningVersion {
  image: string | null;
  tag: string | null;
  digest: string | null;
}

export const runningVersion = async (
  clients: { ecs: ECSClient; ecr: ECRClient },
  where: { repository: string; container: string },
  taskDefinition: string | undefined,
): Promise<RunningVersion> => {
  if (!taskDefinition) return { image: null, tag: null, digest: null };
  const out = await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  const image = containerImage(out.taskDefinition?.containerDefinitions, where.container) ?? null;
  const digest = digestOf(image ?? undefined) ?? null;
  let tag = image?.match(/:([\w][\w.-]{0,127})$/)?.[1] ?? null;
  if (digest) {
    try {
      const found = await clients.ecr.send(
        new DescribeImagesCommand({ repositoryName: where.repository, imageIds: [{ imageDigest: digest }] }),
      );
      tag = found.imageDetails?.[0]?.imageTags?.sort().join(', ') || null;
    } catch (error) {
      // The image was deleted from ECR since: the digest still says what runs.
      if (!['ImageNotFoundException', 'RepositoryNotFoundException'].includes((error as Error).name))
        throw error;
    }
  }
  return { image, tag, digest };
};

/** `v1 (sha256:1a2b3c4d5e6f)`: a version as a person reads it, the digest cut to 12 hex digits. */
export const versionText = (version: { tag?: string | null; digest?: string | null }): string => {
  const digest = version.digest ? `sha256:${version.digest.replace(/^sha256:/, '').slice(0, 12)}` : null;
  if (version.tag && digest) return `${version.tag} (${digest})`;
  return version.tag ?? digest ?? 'unknown';
};
