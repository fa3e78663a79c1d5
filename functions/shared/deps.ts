/**
 * Dependencies of the release steps, built once at cold start: validated environment, the targets
 * config, the DynamoDB store, and — chosen per step — the module-scope AWS clients it uses.
 */

import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import { type ApprovalStore, approvalStore } from './approvals.ts';
import { doc } from './clients/dynamodb.ts';
import { loadDeployedTargets, type TargetsFile } from './config.ts';
import { readEnv } from './env.ts';
import type { KeepWarmDeps, WarmAlwaysDeps } from './keep-warm.ts';
import type { Probe } from './probe.ts';
import { createStore, type Store } from './store.ts';

export interface BaseDeps {
  targets: TargetsFile;
  /** Switchyard's own event bus (env SWITCHYARD_EVENT_BUS, optional): release events go there. */
  eventBus?: string;
  store: Store;
  approvals: ApprovalStore;
  now: () => Date;
  /** A step's invocation: when it ends at the latest, epoch ms (set per invocation by step-handler.ts). */
  invocationEndsAt?: number;
  /** A step's invocation: its id (Lambda's awsRequestId). */
  invocationId?: string;
}

export interface AwsDeps {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  rds: RDSClient;
  ecr: ECRClient;
  sfn: SFNClient;
  sns: SNSClient;
  /** Approval emails: straight to each approver (SES), never on the shared topic. */
  ses: SESv2Client;
  cloudwatch: CloudWatchClient;
  /** Switchyard's own bus: release state changes (events.ts). */
  events: EventBridgeClient;
  /** Hooks' logs (a load test's figures, a failed migration's last lines). */
  logs: CloudWatchLogsClient;
  secrets: SecretsManagerClient;
  probe: Probe;
}

/** With the warm-ups' Lambda client and function names (keep-warm.ts: the reconciler and start-release send them). */
export type ReleaseDeps = BaseDeps & AwsDeps & KeepWarmDeps & WarmAlwaysDeps;

/** Config, store and clock from the environment; a missing variable fails the cold start. */
export const baseDeps = (): BaseDeps => {
  const env = readEnv(
    'SWITCHYARD_TARGETS_FILE',
    'LOCKS_TABLE',
    'RELEASES_TABLE',
    'WAITS_TABLE',
    'APPROVALS_TABLE',
  );
  return {
    targets: loadDeployedTargets(env.SWITCHYARD_TARGETS_FILE),
    store: createStore(doc, {
      locks: env.LOCKS_TABLE,
      releases: env.RELEASES_TABLE,
      waits: env.WAITS_TABLE,
      approvals: env.APPROVALS_TABLE,
    }),
    approvals: approvalStore(doc, env.APPROVALS_TABLE),
    now: () => new Date(),
    ...eventBusFromEnv(),
  };
};

/** The optional event bus, read once where the deps are built (never at call time). */
export const eventBusFromEnv = (): { eventBus?: string } =>
  process.env.SWITCHYARD_EVENT_BUS ? { eventBus: process.env.SWITCHYARD_EVENT_BUS } : {};
