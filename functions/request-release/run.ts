import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { formatIssues, type Target, type TargetsFile } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { logger } from '../shared/logger.ts';
import { type StarterDeps, startImage } from '../shared/starter.ts';
import { TriggerSource } from '../shared/vocabulary.ts';
import { type Input, type Output, type Request, requestSchema } from './schema.ts';

interface Deps extends StarterDeps, Pick<ReleaseDeps, 'ecr'> {
  targets: TargetsFile;
}

/** A request that cannot start anything: said once, in the log, and nothing is retried or started. */
class Rejected extends Error {}

/**
 * A `Switchyard Release Requested` event (any CI: `aws events put-events` onto Switchyard's bus)
 * starts one release, through the same execution as a push: validation, the lock, freeze windows,
 * the promotion gate and approval all apply. The event's id names the attempt, so a duplicated
 * delivery starts nothing twice. A malformed request is rejected with what is wrong, and not thrown:
 * EventBridge would only deliver it again, and it would fail the same way.
 */
export const run = async (event: Input, deps: Deps): Promise<Output> => {
  try {
    const request = parse(event.detail);
    const target = deps.targets.targets.find((t) => t.name === request.target);
    if (!target)
      throw new Rejected(
        `target: no target "${request.target}" (configured: ${deps.targets.targets.map((t) => t.name).join(', ')})`,
      );
    const image = await resolveImage(target, request, deps);
    // EventBridge names the sending account, not the principal: the requester is a claim.
    const by = `${request.requestedBy ?? 'unnamed'} (claimed) via ${event.source}${event.account ? `, account ${event.account}` : ''}`;
    return await startImage(deps, {
      target: target.name,
      image,
      at: new Date(event.time),
      trigger: { source: TriggerSource.Event, eventId: event.id, by, reason: request.reason },
    });
  } catch (error) {
    if (!(error instanceof Rejected)) throw error;
    const rejected = `release request ${event.id} from ${event.source} rejected, nothing started: ${error.message}`;
    logger.error('release request rejected', {
      eventId: event.id,
      source: event.source,
      reason: error.message,
    });
    return { rejected };
  }
};

const parse = (detail: unknown): Request => {
  const parsed = requestSchema.safeParse(detail);
  if (!parsed.success) throw new Rejected(formatIssues(parsed.error).replace(/\n/g, '; '));
  return parsed.data;
};

/** The image in the target's repository: a tag must match its tagPattern, as the CLI requires. */
const resolveImage = async (target: Target, request: Request, deps: Pick<Deps, 'ecr'>) => {
  const pattern = new RegExp(`^(?:${target.image.tagPattern})$`);
  if (request.tag && !pattern.test(request.tag))
    throw new Rejected(
      `tag: "${request.tag}" does not match ${target.name}'s tagPattern ${target.image.tagPattern}`,
    );
  const repository = target.image.repository;
  let found: { imageDigest?: string | undefined; imageTags?: string[] | undefined } | undefined;
  try {
    const out = await deps.ecr.send(
      new DescribeImagesCommand({
        repositoryName: repository,
        imageIds: [request.digest ? { imageDigest: request.digest } : { imageTag: request.tag as string }],
      }),
    );
    found = out.imageDetails?.[0];
  } catch (error) {
    const name = (error as Error).name;
    if (name !== 'ImageNotFoundException' && name !== 'RepositoryNotFoundException') throw error;
  }
  const what = request.digest ? `digest ${request.digest}` : `tag "${request.tag}"`;
  if (!found?.imageDigest)
    throw new Rejected(
      `${request.digest ? 'digest' : 'tag'}: ECR repository ${repository} has no image with ${what}`,
    );
  if (request.tag && request.digest && !found.imageTags?.includes(request.tag))
    throw new Rejected(
      `tag: "${request.tag}" is not a tag of ${request.digest} in ${repository} (its tags: ${found.imageTags?.join(', ') || 'none'}); send one of them, or only the digest`,
    );
  const tag = request.tag ?? found.imageTags?.find((t) => pattern.test(t));
  if (!tag)
    throw new Rejected(
      `digest: none of ${request.digest}'s tags (${found.imageTags?.join(', ') || 'none'}) matches ${target.name}'s tagPattern ${target.image.tagPattern}`,
    );
  return { repository, tag, digest: found.imageDigest };
};
