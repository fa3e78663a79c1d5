/**
 * EventBridge patterns of the rules that drive Switchyard. The CDK stack and the local event bus
 * use these same objects, so what triggers a step cannot differ between AWS and the local runtime.
 */
export type EventPattern = { [key: string]: string[] | EventPattern };

/** Switchyard's own events: a custom event's source may not begin with `aws.` (PutEvents reference). */
export const SWITCHYARD_SOURCE = 'switchyard';
export const RELEASE_STATE_CHANGE = 'Switchyard Release State Change';
/** What any CI puts on Switchyard's bus to ask for a release (request-release). */
export const RELEASE_REQUESTED = 'Switchyard Release Requested';

export const ecrPushPattern = (repositories: string[]): EventPattern => ({
  source: ['aws.ecr'],
  'detail-type': ['ECR Image Action'],
  detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': repositories },
});

/**
 * CloudTrail's record of an ECR PutImage (the end of every push), as EventBridge delivers it: it
 * names who pushed (`userIdentity`), which the `ECR Image Action` event does not. EventBridge gets
 * these only where a CloudTrail trail records management events (aws-cdk-lib's
 * `Repository.onCloudTrailImagePushed` documents the same requirement).
 */
export const ecrPutImageCloudTrailPattern = (repositories: string[]): EventPattern => ({
  source: ['aws.ecr'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['ecr.amazonaws.com'],
    eventName: ['PutImage'],
    requestParameters: { repositoryName: repositories },
  },
});

export const ecsDeploymentPattern: EventPattern = {
  source: ['aws.ecs'],
  'detail-type': ['ECS Deployment State Change'],
  detail: { eventName: ['SERVICE_DEPLOYMENT_COMPLETED', 'SERVICE_DEPLOYMENT_FAILED'] },
};

/** A hook's one-off task stopping (Switchyard starts them with startedBy "switchyard"). */
export const hookTaskStoppedPattern: EventPattern = {
  source: ['aws.ecs'],
  'detail-type': ['ECS Task State Change'],
  detail: { lastStatus: ['STOPPED'], startedBy: ['switchyard'] },
};

/**
 * A task of a group member's service running or stopping (`group` is `service:<name>` for a
 * service's tasks): the hint that a colour scaled up without a new deployment is stable (no
 * deployment event comes then), that a singleton's colour has drained, or that a member's new
 * colour failed during a bake. Only the members' services are named, so no other service's tasks
 * invoke anything.
 */
export const serviceTaskStoppedPattern = (services: string[]): EventPattern => ({
  source: ['aws.ecs'],
  'detail-type': ['ECS Task State Change'],
  detail: { lastStatus: ['RUNNING', 'STOPPED'], group: services.map((s) => `service:${s}`) },
});

export const rdsSnapshotPattern: EventPattern = {
  source: ['aws.rds'],
  'detail-type': ['RDS DB Snapshot Event', 'RDS DB Cluster Snapshot Event'],
  // 0042: manual DB snapshot created; 0075: manual cluster snapshot created. Failures are caught by the reconciler.
  detail: { EventID: ['RDS-EVENT-0042', 'RDS-EVENT-0075'] },
};

/** A watched alarm going to ALARM (the only change that ends a bake early). */
export const alarmStatePattern = (alarmNames: string[]): EventPattern => ({
  source: ['aws.cloudwatch'],
  'detail-type': ['CloudWatch Alarm State Change'],
  detail: { alarmName: alarmNames, state: { value: ['ALARM'] } },
});

/**
 * An execution of Switchyard's state machines that ended without finishing its own work: stopped
 * by hand, timed out, or failed outside every Catch. Routine outcomes end as SUCCEEDED.
 */
export const executionEndedPattern = (stateMachineArns: string[]): EventPattern => ({
  source: ['aws.states'],
  'detail-type': ['Step Functions Execution Status Change'],
  detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: stateMachineArns },
});

/**
 * A soak completed on one of `upstreams` (Switchyard's own event, soak.ts): the targets promoted from
 * it automatically start. The source is Switchyard's: only its functions may put it (the stack's
 * PutEvents condition), so no one else can forge a completed soak onto the bus.
 */
export const soakCompletedPattern = (upstreams: string[]): EventPattern => ({
  source: [SWITCHYARD_SOURCE],
  'detail-type': [RELEASE_STATE_CHANGE],
  detail: { state: ['SoakCompleted'], target: upstreams },
});

/** Any sender's request for a release (a CI's `aws events put-events` onto Switchyard's bus). */
export const releaseRequestedPattern: EventPattern = {
  'detail-type': [RELEASE_REQUESTED],
};

/** Exact-match subset of EventBridge pattern semantics: every listed field must equal one of its values. */
export const matches = (pattern: EventPattern, event: unknown): boolean => {
  if (typeof event !== 'object' || event === null) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = (event as Record<string, unknown>)[key];
    if (Array.isArray(expected)) {
      return Array.isArray(actual)
        ? actual.some((a) => expected.includes(a as string))
        : expected.includes(actual as string);
    }
    return matches(expected, actual);
  });
};
