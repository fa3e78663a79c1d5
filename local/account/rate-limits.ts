/**
 * API rate limits of the simulated account: token buckets in virtual time, per account and
 * Region as AWS applies them. A call finding its bucket empty answers `ThrottlingException`, which
 * the SDK retries with backoff, then the state machine (as `TransientError`).
 */
export interface RateLimit {
  service: string;
  /** Which operations share the bucket. */
  operations: RegExp;
  /** Bucket size: the most calls in any one second. */
  burst: number;
  /** Refill: the sustained calls per second. */
  perSecond: number;
  source: string;
}

const ECS_THROTTLING =
  'docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html, read 2026-11-23';

const SFN_THROTTLING =
  'docs.aws.amazon.com/step-functions/latest/dg/limits.html, large Regions, as archived in awsdocs/aws-step-functions-developer-guide, read 2026-12-03';

/**
 * The published limits. ELBv2 and RDS as the issue quotes them from AWS's pages. ECS from its
 * request-throttling page's table ("Request token bucket sizes and refill rates"): every action
 * category Switchyard calls, each its own bucket shared by the actions in it.
 */
export const publishedRateLimits: RateLimit[] = [
  {
    service: 'ELBv2',
    operations: /^Describe/,
    burst: 40,
    perSecond: 10,
    source: 'ELBv2 Describe*: 40 burst, 10/s',
  },
  { service: 'RDS', operations: /./, burst: 300, perSecond: 12, source: 'RDS: 300 burst, 12/s' },
  {
    service: 'ECS',
    operations: /^(DescribeServices|ListServices)$/,
    burst: 100,
    perSecond: 20,
    source: `ECS service reads: 100 burst, 20/s (${ECS_THROTTLING})`,
  },
  {
    service: 'ECS',
    operations: /^(CreateService|DeleteService|UpdateService)$/,
    burst: 50,
    perSecond: 5,
    source: 'ECS service modify: 50 burst, 5/s',
  },
  {
    service: 'ECS',
    operations: /^(DescribeTaskDefinition|ListTaskDefinitions|ListTaskDefinitionFamilies)$/,
    burst: 50,
    perSecond: 20,
    source: 'ECS task definition reads: 50 burst, 20/s',
  },
  {
    service: 'ECS',
    operations: /^(RegisterTaskDefinition|DeregisterTaskDefinition)$/,
    burst: 20,
    perSecond: 1,
    source: 'ECS task definition modify: 20 burst, 1/s',
  },
  {
    service: 'SESv2',
    operations: /^SendEmail$/,
    burst: 1,
    perSecond: 1,
    source: 'SES sandbox sending rate: 1 message per second (docs.aws.amazon.com/ses/latest/dg/quotas.html)',
  },
  {
    service: 'ECS',
    operations: /^(DescribeClusters|ListClusters)$/,
    burst: 50,
    perSecond: 20,
    source: 'ECS cluster reads: 50 burst, 20/s',
  },
  {
    service: 'ECS',
    operations:
      /^(DescribeTasks|ListTasks|DescribeContainerInstances|ListContainerInstances|ListAttributes)$/,
    burst: 100,
    perSecond: 20,
    source: 'ECS cluster resource reads: 100 burst, 20/s',
  },
  {
    service: 'ECS',
    operations: /^(TagResource|UntagResource)$/,
    burst: 20,
    perSecond: 10,
    source: 'ECS tag modify: 20 burst, 10/s',
  },
  // Step Functions' API throttling in US East (N. Virginia), US West (Oregon) and Europe (Ireland),
  // where the scale run's account is: AWS Step Functions Developer Guide, "Quotas related to API
  // action throttling" (awsdocs/aws-step-functions-developer-guide, doc_source/limits.md), one
  // bucket per action.
  ...(
    [
      ['StartExecution', 1300, 300],
      ['DescribeExecution', 300, 15],
      ['ListExecutions', 200, 5],
      ['StopExecution', 1000, 200],
      ['SendTaskSuccess', 3000, 500],
      ['SendTaskFailure', 3000, 500],
      ['SendTaskHeartbeat', 3000, 500],
    ] as const
  ).map(([operation, burst, perSecond]) => ({
    service: 'SFN',
    operations: new RegExp(`^${operation}$`),
    burst,
    perSecond,
    // The page is named once, on the first of them, as for ECS: the bench prints every source.
    source: `Step Functions ${operation}: ${burst} burst, ${perSecond}/s${operation === 'StartExecution' ? ` (${SFN_THROTTLING})` : ''}`,
  })),
];

export class RateLimiter {
  private readonly buckets: { limit: RateLimit; tokens: number; at: number }[];
  /** `Service.Operation` → calls refused. */
  readonly throttled = new Map<string, number>();

  constructor(limits: RateLimit[]) {
    this.buckets = limits.map((limit) => ({ limit, tokens: limit.burst, at: Number.NaN }));
  }

  /** Takes a token for the call; false when its bucket is empty (the call is throttled). */
  take(service: string, operation: string, now: number): boolean {
    const bucket = this.buckets.find(
      (b) => b.limit.service === service && b.limit.operations.test(operation),
    );
    if (!bucket) return true;
    if (!Number.isNaN(bucket.at)) {
      bucket.tokens = Math.min(
        bucket.limit.burst,
        bucket.tokens + ((now - bucket.at) / 1000) * bucket.limit.perSecond,
      );
    }
    bucket.at = now;
    if (bucket.tokens < 1) {
      const key = `${service}.${operation}`;
      this.throttled.set(key, (this.throttled.get(key) ?? 0) + 1);
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }
}
