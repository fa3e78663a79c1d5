import {
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
} from '@aws-sdk/client-rds';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { Outcome } from '../shared/vocabulary.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'rds'>;

interface OwnSnapshot {
  id: string;
  createdAt: number;
}

/** Deleted only if Switchyard made it for this target: its name and both of its tags say so. */
const ours = (id: string | undefined, tags: { Key?: string; Value?: string }[] | undefined, target: string) =>
  !!id?.startsWith('switchyard-') &&
  tags?.some((t) => t.Key === 'switchyard:target' && t.Value === target) === true &&
  tags.some((t) => t.Key === 'switchyard:release');

/**
 * After a release is Promoted: deletes this target's oldest Switchyard snapshots beyond
 * `database.keepSnapshots`, so releases never exhaust the account's manual snapshot quota (100 per
 * Region by default). It never deletes a snapshot a rollback plan may name: this release's (what a
 * restore after rolling it back would use) and the previously promoted release's. Each deletion
 * goes into the release record. Read-only on anything it did not tag.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const database = target.database;
  if (!database) return { kept: [], deleted: [] };
  const history = await deps.store.releasesForTarget(target.name, 50);
  const protectedIds = new Set<string>();
  // The target's newest records, this release among them.
  const me = history.find((r) => r.releaseId === input.releaseId);
  if (me?.snapshotId) protectedIds.add(me.snapshotId);
  const previous = history.find(
    (r) => r.releaseId !== input.releaseId && r.kind !== 'rollback' && r.outcome === Outcome.Promoted,
  );
  if (previous?.snapshotId) protectedIds.add(previous.snapshotId);

  const own = await listOwn(deps, database, target.name);
  // Newest first; keep `keepSnapshots` of them, and every protected one wherever it falls.
  own.sort((a, b) => b.createdAt - a.createdAt);
  const keep = new Set(own.slice(0, database.keepSnapshots).map((s) => s.id));
  for (const id of protectedIds) keep.add(id);
  const doomed = own.filter((s) => !keep.has(s.id)).reverse();
  const deleted: string[] = [];
  for (const s of doomed) {
    try {
      if (database.kind === 'instance') {
        await deps.rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: s.id }));
      } else {
        await deps.rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: s.id }));
      }
      deleted.push(s.id);
    } catch (error) {
      // Gone already (a retry after the call took effect): nothing to do.
      if (!/SnapshotNotFound/.test((error as Error).name)) throw error;
      deleted.push(s.id);
    }
  }
  if (deleted.length > 0) {
    const before = me?.prunedSnapshots ?? [];
    await deps.store.updateRelease(input.releaseId, {
      prunedSnapshots: [...before, ...deleted.filter((d) => !before.includes(d))],
    });
  }
  return { kept: own.filter((s) => keep.has(s.id)).map((s) => s.id), deleted };
};

const listOwn = async (
  deps: Deps,
  database: { kind: 'instance' | 'cluster'; identifier: string },
  target: string,
): Promise<OwnSnapshot[]> => {
  const out: OwnSnapshot[] = [];
  let marker: string | undefined;
  do {
    if (database.kind === 'instance') {
      const page = await deps.rds.send(
        new DescribeDBSnapshotsCommand({
          DBInstanceIdentifier: database.identifier,
          SnapshotType: 'manual',
          Marker: marker,
        }),
      );
      for (const s of page.DBSnapshots ?? []) {
        if (s.Status === 'available' && ours(s.DBSnapshotIdentifier, s.TagList, target))
          out.push({ id: s.DBSnapshotIdentifier as string, createdAt: s.SnapshotCreateTime?.getTime() ?? 0 });
      }
      marker = page.Marker;
    } else {
      const page = await deps.rds.send(
        new DescribeDBClusterSnapshotsCommand({
          DBClusterIdentifier: database.identifier,
          SnapshotType: 'manual',
          Marker: marker,
        }),
      );
      for (const s of page.DBClusterSnapshots ?? []) {
        if (s.Status === 'available' && ours(s.DBClusterSnapshotIdentifier, s.TagList, target))
          out.push({
            id: s.DBClusterSnapshotIdentifier as string,
            createdAt: s.SnapshotCreateTime?.getTime() ?? 0,
          });
      }
      marker = page.Marker;
    }
  } while (marker);
  return out;
};
