/**
 * Granted actions that no call in the suite's local runs uses, each with the reason it stays.
 * Keyed `<function> <action>`; `state-machine:<name>` is a state machine's role.
 */
import { allFunctionFolders, asyncFunctions, eventFunctions } from '../../state-machines/definitions.ts';

const xray = 'Written by the Lambda runtime for active tracing (X-Ray), not by the function code.';
const listener =
  "A target on a listener's default action (traffic.listenerArn) has its weights read and set through the listener, a rule target through its rule; the suite takes this function's path with rule targets only.";

const registerWaitRestores =
  "A bake (or freeze hold) that fails the moment it registers — a rollback requested after ShiftTraffic's fence read, or an alarm already in ALARM — puts traffic back itself (the fast rollback: one ModifyRule, its DescribeRules read-back). ShiftTraffic now refuses to move weights once a rollback is requested, so the suite's runs no longer reach that window.";

export const acknowledgedGrants: Record<string, string> = {
  'wait-resume elasticloadbalancing:DescribeTargetHealth':
    "A group member's stopped task is judged by that task alone in a bake (checkStoppedMemberTask); a freeze hold of a group, or a bake registered without its release's start (before that field existed), gets the full check, the new colour's target health included. No suite run stops a member's task during a freeze hold.",
  'request-approval states:DescribeExecution':
    "A retried RequestApproval hands a decision recorded meanwhile to its own new task token (approvals.ts deliverDecision). Only if that token is already closed (the wait timed out during the invocation) does it ask DescribeExecution whether the release still runs; the suite's retries never close their own token.",
  'acquire-lock elasticloadbalancing:DescribeListeners': listener,
  'acquire-lock elasticloadbalancing:ModifyListener': listener,
  'clean-up-inactive-colour elasticloadbalancing:DescribeListeners': listener,
  'plan-rollback elasticloadbalancing:DescribeListeners': listener,
  'reconciler elasticloadbalancing:DescribeListeners': listener,
  'reconciler elasticloadbalancing:ModifyListener': listener,
  'register-wait elasticloadbalancing:DescribeListeners': listener,
  'register-wait elasticloadbalancing:ModifyListener': listener,
  'roll-back-traffic elasticloadbalancing:DescribeListeners': listener,
  'roll-back-traffic elasticloadbalancing:ModifyListener': listener,
  'wait-resume elasticloadbalancing:DescribeListeners': listener,
  'wait-resume elasticloadbalancing:ModifyListener': listener,
  'recover-execution elasticloadbalancing:DescribeListeners': listener,
  'recover-execution elasticloadbalancing:ModifyListener': listener,
  'release-lock states:SendTaskFailure':
    "Sends a displaced release's owed Superseded found on the lock before freeing it (lock-signals.ts); in the suite AcquireLock or the reconciler always delivers it first.",
  'recover-execution states:SendTaskFailure':
    "The recovery's hand-over sends a displaced release's owed Superseded found on the lock (lock-signals.ts); no suite run stops a lock owner while such an answer is owed.",
  'acquire-lock dynamodb:DeleteItem':
    "Frees an expired lock on its gone owner's behalf when nobody is queued (takeOverFromGoneOwner → ReleaseLock's logic); the suite's expired-lock test has a queued release, so the lock is handed over instead.",
  'recover-execution states:DescribeExecution':
    "When the recovery hands the lock over and finds the queued release's task already closed, it asks whether that execution still runs (resumed) or is gone (free the lock on its behalf); no suite run stops a queued release too.",
  'acquire-lock states:DescribeExecution':
    "Before taking over a lock whose lease expired, AcquireLock asks whether the owner's execution still runs; no suite run lets a lease expire.",
  'register-wait states:SendTaskFailure':
    "Fails a wait the moment it registers: its condition already failed (e.g. the ECS deployment FAILED before the wait existed) or a rollback was requested after the previous step's fence read. In the suite the events and the fences always get there first.",
  'register-wait elasticloadbalancing:ModifyRule': registerWaitRestores,
  'register-wait elasticloadbalancing:DescribeRules': registerWaitRestores,
  'register-wait states:SendTaskSuccess':
    'Resumes its own wait at once when the condition already holds at registration (the event came first).',
  'slack-interactions states:SendTaskFailure':
    'A rejection from Slack fails the approval wait; the suite rejects by email only.',
  'reconciler secretsmanager:GetSecretValue':
    "Reads a target's Slack or Teams webhook to announce an outcome it recovered; the suite recovers only targets without webhooks.",
  'recover-execution secretsmanager:GetSecretValue':
    "Reads a target's Slack or Teams webhook to announce the recovered outcome; the suite recovers only targets without webhooks.",
};

for (const fn of allFunctionFolders()) {
  acknowledgedGrants[`${fn} xray:PutTraceSegments`] = xray;
  acknowledgedGrants[`${fn} xray:PutTelemetryRecords`] = xray;
}
// Lambda's on-failure destination (the dead-letter queue): CDK's grant for an SQS destination adds
// these two next to sqs:SendMessage, which the delivery check uses.
for (const fn of [...eventFunctions, ...asyncFunctions]) {
  acknowledgedGrants[`${fn} sqs:GetQueueAttributes`] =
    'Part of the grant for the on-failure SQS destination (CDK).';
  acknowledgedGrants[`${fn} sqs:GetQueueUrl`] = 'Part of the grant for the on-failure SQS destination (CDK).';
}
for (const machine of ['switchyard-release', 'switchyard-rollback']) {
  for (const action of [
    'logs:CreateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:DescribeLogGroups',
    'logs:DescribeResourcePolicies',
    'logs:GetLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:UpdateLogDelivery',
  ])
    acknowledgedGrants[`state-machine:${machine} ${action}`] =
      'Step Functions delivers execution logs (level ALL) to CloudWatch Logs with these; CDK grants them for `logs`.';
  for (const action of [
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
  ])
    acknowledgedGrants[`state-machine:${machine} ${action}`] =
      'Step Functions writes X-Ray traces (tracingEnabled).';
}
