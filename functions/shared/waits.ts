/**
 * Event-driven waits. A waiting step registers *what* it waits for with its task token; an
 * EventBridge event (a hint) or the reconciler re-checks the condition against AWS and only then
 * resumes the execution. The PENDING → RESUMED conditional write makes resuming exactly-once.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import {
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { stabilityOn } from './ecs.ts';
import type { Store, WaitRecord } from './store.ts';
import { sendFailure, sendSuccess } from './task-tokens.ts';
import { WaitKind } from './vocabulary.ts';

export type WaitCheck =
  | { state: 'done'; output: Record<string, unknown> }
  | { state: 'failed'; error: 'DeploymentFailed' | 'SnapshotFailed'; cause: string }
  | { state: 'pending'; detail: string };

export const serviceResourceKey = (cluster: string, service: string) => `ecs-service#${cluster}/${service}`;
export const snapshotResourceKey = (snapshotId: string) => `rds-snapshot#${snapshotId.toLowerCase()}`;

/** Phase names recorded in the release's audit trail when a wait ends. */
export const waitPhase: Record<WaitKind, string> = {
  [WaitKind.ServiceStable]: 'WaitForServiceStable',
  [WaitKind.SnapshotAvailable]: 'WaitForSnapshot',
};

export interface WaitAws {
  ecs: Pick<ECSClient, 'send'>;
  rds: Pick<RDSClient, 'send'>;
}

const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

const snapshotFailed = new Set([
  'failed',
  'deleted',
  'deleting',
  'incompatible-restore',
  'incompatible-parameters',
]);

/**
 * Checks many waits with as few Describe calls as AWS allows: services 10 per DescribeServices per
 * cluster, snapshots by identifier filter. Returns one check per wait id.
 */
export const checkWaits = async (waits: WaitRecord[], aws: WaitAws): Promise<Map<string, WaitCheck>> => {
  const checks = new Map<string, WaitCheck>();

  const services = waits.filter((w) => w.kind === WaitKind.ServiceStable);
  const byCluster = Map.groupBy(services, (w) => w.condition.cluster as string);
  for (const [cluster, group] of byCluster) {
    const names = [...new Set(group.map((w) => w.condition.service as string))];
    for (const batch of chunk(names, 10)) {
      const out = await aws.ecs.send(new DescribeServicesCommand({ cluster, services: batch }));
      for (const wait of group.filter((w) => batch.includes(w.condition.service as string))) {
        const service = out.services?.find((s) => s.serviceName === wait.condition.service);
        if (!service) {
          checks.set(wait.waitId, {
            state: 'failed',
            error: 'DeploymentFailed',
            cause: `service ${wait.condition.service} is missing`,
          });
          continue;
        }
        const stability = stabilityOn(service, wait.condition.taskDefinitionArn as string);
        checks.set(
          wait.waitId,
          stability.state === 'stable'
            ? {
                state: 'done',
                output: { service: service.serviceName, taskDefinitionArn: wait.condition.taskDefinitionArn },
              }
            : stability.state === 'failed'
              ? { state: 'failed', error: 'DeploymentFailed', cause: stability.detail }
              : { state: 'pending', detail: stability.detail },
        );
      }
    }
  }

  const snapshots = waits.filter((w) => w.kind === WaitKind.SnapshotAvailable);
  for (const kind of ['instance', 'cluster'] as const) {
    const group = snapshots.filter((w) => w.condition.databaseKind === kind);
    for (const batch of chunk(group, 20)) {
      const ids = batch.map((w) => w.condition.snapshotId as string);
      const statuses = new Map<string, string | undefined>();
      if (kind === 'instance') {
        const out = await aws.rds.send(
          new DescribeDBSnapshotsCommand({ Filters: [{ Name: 'db-snapshot-id', Values: ids }] }),
        );
        for (const s of out.DBSnapshots ?? []) statuses.set(s.DBSnapshotIdentifier ?? '', s.Status);
      } else {
        const out = await aws.rds.send(
          new DescribeDBClusterSnapshotsCommand({
            Filters: [{ Name: 'db-cluster-snapshot-id', Values: ids }],
          }),
        );
        for (const s of out.DBClusterSnapshots ?? [])
          statuses.set(s.DBClusterSnapshotIdentifier ?? '', s.Status);
      }
      for (const wait of batch) {
        const id = wait.condition.snapshotId as string;
        const status = statuses.get(id);
        checks.set(
          wait.waitId,
          status === 'available'
            ? { state: 'done', output: { snapshotId: id, status } }
            : status === undefined || snapshotFailed.has(status)
              ? {
                  state: 'failed',
                  error: 'SnapshotFailed',
                  cause: `snapshot ${id} is ${status ?? 'missing'}`,
                }
              : { state: 'pending', detail: `snapshot ${id} is ${status}` },
        );
      }
    }
  }
  return checks;
};

export interface ResumeDeps {
  store: Store;
  sfn: Pick<SFNClient, 'send'>;
  now: () => Date;
}

/**
 * Resumes a wait whose check is done or failed: claims it (exactly one caller wins), records the
 * phase, then sends the token. Returns true if this caller resumed it.
 */
export const resumeWait = async (wait: WaitRecord, check: WaitCheck, deps: ResumeDeps): Promise<boolean> => {
  if (check.state === 'pending') return false;
  if (!(await deps.store.claimWait(wait))) return false;
  try {
    if (check.state === 'done') await sendSuccess(deps.sfn, wait.taskToken, check.output);
    else await sendFailure(deps.sfn, wait.taskToken, check.error, check.cause);
  } catch (error) {
    // The token was not delivered: hand the wait back so an event or the reconciler tries again.
    await deps.store.unclaimWait(wait);
    throw error;
  }
  await deps.store.appendPhase(wait.releaseId, {
    name: waitPhase[wait.kind],
    startedAt: wait.createdAt,
    endedAt: deps.now().toISOString(),
    status: check.state === 'done' ? 'succeeded' : 'failed',
    detail: check.state === 'failed' ? check.cause : undefined,
  });
  return true;
};
