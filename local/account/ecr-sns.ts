/** Simulated ECR (repositories and pushed images) and SNS (published messages kept for inspection). */
import { createHash } from 'node:crypto';
import type { AwsEvent, EventBus } from '../bus.ts';
import { notFound } from './errors.ts';

interface SimImage {
  digest: string;
  tags: string[];
  pushedAt: Date;
}

export class EcrModel {
  readonly repositories = new Map<string, { name: string; uri: string; images: SimImage[] }>();

  constructor(
    private readonly bus: EventBus,
    private readonly envelope: { region: string; account: string },
  ) {}

  addRepository(name: string) {
    const uri = `${this.envelope.account}.dkr.ecr.${this.envelope.region}.amazonaws.com/${name}`;
    this.repositories.set(name, { name, uri, images: [] });
    return uri;
  }

  /** Deterministic digest of an image built as `<repository>:<tag>`. */
  static digestOf(repository: string, tag: string) {
    return `sha256:${createHash('sha256').update(`${repository}:${tag}`).digest('hex')}`;
  }

  /**
   * Stores the image (moving the tag) and, unless `silent`, emits the `ECR Image Action` PUSH event.
   * With `by` (the pusher's IAM ARN), CloudTrail's PutImage record follows `cloudTrailDelaySeconds`
   * later: the account has a trail recording management events. CloudTrail promises no delivery
   * time to EventBridge (best effort; its log files arrive "within an average of about 5 minutes",
   * CloudTrail FAQ), so the default is 5 minutes, after a release has usually asked its approvers.
   */
  push(
    repository: string,
    tag: string,
    options: { silent?: boolean; digest?: string; by?: string; cloudTrailDelaySeconds?: number } = {},
  ): { digest: string; event?: AwsEvent } {
    const repo = this.repositories.get(repository);
    if (!repo) throw new Error(`no repository ${repository}`);
    const digest = options.digest ?? EcrModel.digestOf(repository, tag);
    for (const image of repo.images) image.tags = image.tags.filter((t) => t !== tag);
    const existing = repo.images.find((i) => i.digest === digest);
    if (existing) existing.tags.push(tag);
    else repo.images.push({ digest, tags: [tag], pushedAt: new Date() });
    if (options.by)
      this.cloudTrailPutImage(repository, tag, digest, options.by, options.cloudTrailDelaySeconds ?? 300);
    if (options.silent) return { digest };
    const event = this.bus.emit('aws.ecr', 'ECR Image Action', [], {
      result: 'SUCCESS',
      'repository-name': repository,
      'image-digest': digest,
      'action-type': 'PUSH',
      'image-tag': tag,
    });
    return { digest, event };
  }

  /** CloudTrail's record of the PutImage call, as EventBridge delivers it (only the fields of AWS's records). */
  private cloudTrailPutImage(
    repository: string,
    tag: string,
    digest: string,
    by: string,
    delaySeconds: number,
  ) {
    const eventTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const assumed = by.includes(':assumed-role/');
    setTimeout(() => {
      this.bus.emit('aws.ecr', 'AWS API Call via CloudTrail', [], {
        eventVersion: '1.08',
        userIdentity: {
          type: assumed ? 'AssumedRole' : 'IAMUser',
          principalId: 'AIDAEXAMPLEPRINCIPAL',
          arn: by,
          accountId: this.envelope.account,
        },
        eventTime,
        eventSource: 'ecr.amazonaws.com',
        eventName: 'PutImage',
        awsRegion: this.envelope.region,
        sourceIPAddress: '203.0.113.10',
        userAgent: 'docker/27.3.1',
        requestParameters: { repositoryName: repository, imageTag: tag, registryId: this.envelope.account },
        responseElements: {
          image: {
            repositoryName: repository,
            registryId: this.envelope.account,
            imageId: { imageDigest: digest, imageTag: tag },
          },
        },
        readOnly: false,
        eventType: 'AwsApiCall',
        managementEvent: true,
        recipientAccountId: this.envelope.account,
        eventCategory: 'Management',
      });
    }, delaySeconds * 1000);
  }

  /** The tag an image digest was pushed with (for the simulated containers' behaviour). */
  /** The image's tags, each also as `<repository>:<tag>` (a fault may name one repository's image). */
  tagsOf(digest: string): string[] {
    for (const repo of this.repositories.values()) {
      const image = repo.images.find((i) => i.digest === digest);
      if (image) return [...image.tags, ...image.tags.map((t) => `${repo.name}:${t}`)];
    }
    return [];
  }

  DescribeImages(input: {
    repositoryName: string;
    imageIds?: { imageDigest?: string; imageTag?: string }[];
  }) {
    const repo = this.repositories.get(input.repositoryName);
    if (!repo) {
      throw notFound(
        'RepositoryNotFoundException',
        `The repository with name '${input.repositoryName}' does not exist in the registry with id '${this.envelope.account}'`,
      );
    }
    const ids: { imageDigest?: string; imageTag?: string }[] =
      input.imageIds ?? repo.images.map((i) => ({ imageDigest: i.digest }));
    const details = ids.map((id) => {
      const image = repo.images.find((i) =>
        id.imageDigest ? i.digest === id.imageDigest : i.tags.includes(id.imageTag ?? ''),
      );
      if (!image) {
        throw notFound(
          'ImageNotFoundException',
          `The image with imageId {imageDigest:'${id.imageDigest}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repo.name}'`,
        );
      }
      return {
        repositoryName: repo.name,
        imageDigest: image.digest,
        imageTags: [...image.tags],
        imagePushedAt: image.pushedAt,
      };
    });
    return { imageDetails: details };
  }

  DescribeRepositories(input: { repositoryNames?: string[] }) {
    return {
      repositories: (input.repositoryNames ?? [...this.repositories.keys()]).map((name) => {
        const repo = this.repositories.get(name);
        if (!repo)
          throw notFound('RepositoryNotFoundException', `The repository with name '${name}' does not exist`);
        return { repositoryName: repo.name, repositoryUri: repo.uri };
      }),
    };
  }
}

export interface PublishedMessage {
  topicArn: string;
  subject?: string;
  message: string;
  attributes: Record<string, string>;
  at: string;
}

export class SnsModel {
  readonly topics = new Set<string>();
  readonly published: PublishedMessage[] = [];
  private counter = 0;

  addTopic(arn: string) {
    this.topics.add(arn);
  }

  Publish(input: {
    TopicArn?: string;
    Subject?: string;
    Message: string;
    MessageAttributes?: Record<string, { StringValue?: string }>;
  }) {
    if (!input.TopicArn || !this.topics.has(input.TopicArn))
      throw notFound('NotFoundException', 'Topic does not exist');
    this.published.push({
      topicArn: input.TopicArn,
      subject: input.Subject,
      message: input.Message,
      attributes: Object.fromEntries(
        Object.entries(input.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
      ),
      at: new Date().toISOString(),
    });
    this.counter++;
    return { MessageId: `00000000-0000-0000-0000-${String(this.counter).padStart(12, '0')}` };
  }
}
