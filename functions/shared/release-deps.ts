/**
 * Every dependency around a given config and store, with all the clients: for tests, the local
 * runtime and the CLI, never for bundles (a handler takes only the clients its step uses).
 */
import { approvalStore } from './approvals.ts';
import * as clients from './clients.ts';
import type { TargetsFile } from './config.ts';
import { eventBusFromEnv, type ReleaseDeps } from './deps.ts';
import { warmUpFunctionsFrom } from './keep-warm.ts';
import { httpProbe } from './probe.ts';
import type { Store } from './store.ts';

export const releaseDeps = (targets: TargetsFile, store: Store, approvalsTable: string): ReleaseDeps => ({
  targets,
  store,
  approvals: approvalStore(clients.doc, approvalsTable),
  now: () => new Date(),
  ...eventBusFromEnv(),
  ecs: clients.ecs,
  elbv2: clients.elbv2,
  rds: clients.rds,
  ecr: clients.ecr,
  sfn: clients.sfn,
  sns: clients.sns,
  ses: clients.ses,
  cloudwatch: clients.cloudwatch,
  logs: clients.logs,
  events: clients.events,
  secrets: clients.secrets,
  probe: httpProbe,
  lambda: clients.lambda,
  warmUpFunctions: warmUpFunctionsFrom(process.env.WARM_UP_FUNCTIONS),
  warmAlways: warmUpFunctionsFrom(process.env.WARM_ALWAYS_FUNCTIONS),
});
