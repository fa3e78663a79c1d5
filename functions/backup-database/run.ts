import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
} from '@aws-sdk/client-rds';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { InvalidInput, SnapshotFailed } from '../shared/errors.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'rds'>;

/**
 * One deterministic snapshot name per release (lowercase, ≤63 characters, valid for both instance
 * and cluster snapshots), so a retry after the API call finds the same snapshot instead of a second.
 */
export const snapshotIdFor = (releaseId: string): string =>
  `switchyard-${releaseId}`.toLowerCase().replace(/-+/g, '-').slice(0, 63).replace(/-$/, '');

const alreadyExists = new Set([
  'DBSnapshotAlreadyExistsFault',
  'DBSnapshotAlreadyExists',
  'DBClusterSnapshotAlreadyExistsFault',
  'DBClusterSnapshotAlreadyExists',
]);

/** Starts the pre-release snapshot; WaitForSnapshot waits for it to become available. */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const database = target.database;
  if (!database) throw new InvalidInput(`target ${target.name} has no database to back up`);
  const snapshotId = snapshotIdFor(input.releaseId);
  const tags = [
    { Key: 'switchyard:release', Value: input.releaseId },
    { Key: 'switchyard:target', Value: target.name },
  ];
  try {
    if (database.kind === 'instance') {
      await deps.rds.send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: database.identifier,
          DBSnapshotIdentifier: snapshotId,
          Tags: tags,
        }),
      );
    } else {
      await deps.rds.send(
        new CreateDBClusterSnapshotCommand({
          DBClusterIdentifier: database.identifier,
          DBClusterSnapshotIdentifier: snapshotId,
          Tags: tags,
        }),
      );
    }
  } catch (error) {
    if (/SnapshotQuotaExceeded/.test((error as Error).name)) {
      throw new SnapshotFailed(
        `RDS refused snapshot ${snapshotId}: the account's manual snapshot quota is used up (${(error as Error).message}). ` +
          `Delete old manual snapshots, lower database.keepSnapshots across targets, or raise the "Manual DB ${database.kind === 'instance' ? 'instance' : 'cluster'} snapshots" quota in Service Quotas`,
      );
    }
    if (!alreadyExists.has((error as Error).name)) throw error;
    // A retry after the first call succeeded: accept it only if it is a snapshot of our database.
    const source = await snapshotSource(deps, database.kind, snapshotId);
    if (source !== database.identifier) {
      throw new SnapshotFailed(
        `snapshot ${snapshotId} exists but is of ${source}, not ${database.identifier}`,
      );
    }
  }
  await deps.store.updateRelease(input.releaseId, { snapshotId });
  return { snapshotId, databaseKind: database.kind };
};

const snapshotSource = async (deps: Deps, kind: 'instance' | 'cluster', id: string) => {
  if (kind === 'instance') {
    const out = await deps.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
    return out.DBSnapshots?.[0]?.DBInstanceIdentifier;
  }
  const out = await deps.rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: id }));
  return out.DBClusterSnapshots?.[0]?.DBClusterIdentifier;
};
