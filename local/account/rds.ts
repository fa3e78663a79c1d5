/**
 * Simulated RDS snapshots of instances and Aurora clusters: a snapshot is `creating` for a while
 * (minutes, scaled by storage), then `available`, and the RDS event AWS documents is emitted.
 */
import type { EventBus } from '../bus.ts';
import { awsError, notFound } from './errors.ts';

interface SimSnapshot {
  id: string;
  source: string;
  kind: 'instance' | 'cluster';
  status: 'creating' | 'available' | 'failed';
  createdAt: Date;
  percentProgress: number;
  tags?: { Key?: string; Value?: string }[];
}

type Filters = { Name?: string; Values?: string[] }[] | undefined;

/**
 * Manual snapshots an account may keep per Region, each kind on its own (RDS user guide, "Quotas
 * in Amazon RDS": manual DB instance snapshots 100, manual DB cluster snapshots 100). Past it,
 * CreateDBSnapshot fails with SnapshotQuotaExceeded.
 */
export const MANUAL_SNAPSHOT_QUOTA = 100;
/** DescribeDBSnapshots answers at most MaxRecords (default 100) per page, with a Marker. */
const PAGE = 100;

const validId = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$/;

export class RdsModel {
  readonly instances = new Map<string, { id: string; storageGb: number }>();
  readonly clusters = new Map<string, { id: string; storageGb: number }>();
  readonly snapshots = new Map<string, SimSnapshot>();
  /** Manual snapshots allowed per kind (a test may lower it, as a quota increase would raise it). */
  snapshotQuota = MANUAL_SNAPSHOT_QUOTA;
  private notify: (message: string) => void = () => {};

  constructor(
    private readonly bus: EventBus,
    private readonly envelope: { region: string; account: string },
    /** Seconds a snapshot of `storageGb` takes (a test may make it slower than any timeout). */
    public snapshotSeconds: (storageGb: number) => number = (gb) => 120 + gb * 2,
  ) {}

  onChange(listener: (message: string) => void) {
    this.notify = listener;
  }

  /** Whether a snapshot is still being created (it becomes available on a timer). */
  busy(): boolean {
    return [...this.snapshots.values()].some((s) => s.status === 'creating');
  }

  addInstance(id: string, storageGb = 100) {
    this.instances.set(id, { id, storageGb });
  }

  addCluster(id: string, storageGb = 100) {
    this.clusters.set(id, { id, storageGb });
  }

  private create(
    kind: 'instance' | 'cluster',
    sourceId: string,
    snapshotId: string,
    storageGb: number,
    tags?: { Key?: string; Value?: string }[],
  ): SimSnapshot {
    const id = kind === 'cluster' ? snapshotId.toLowerCase() : snapshotId;
    if (!validId.test(id) || (kind === 'cluster' && id.length > 63)) {
      throw awsError(
        'InvalidParameterValue',
        `The parameter SnapshotIdentifier is not a valid identifier: ${snapshotId}`,
      );
    }
    if (this.snapshots.has(id)) {
      throw awsError(
        kind === 'instance' ? 'DBSnapshotAlreadyExistsFault' : 'DBClusterSnapshotAlreadyExistsFault',
        `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`,
      );
    }
    if ([...this.snapshots.values()].filter((s) => s.kind === kind).length >= this.snapshotQuota) {
      throw awsError(
        'SnapshotQuotaExceededFault',
        `Cannot create more than ${this.snapshotQuota} manual ${kind === 'instance' ? 'DB' : 'DB cluster'} snapshots`,
      );
    }
    const snapshot: SimSnapshot = {
      id,
      source: sourceId,
      kind,
      status: 'creating',
      createdAt: new Date(),
      percentProgress: 0,
      tags: structuredClone(tags ?? []),
    };
    this.snapshots.set(id, snapshot);
    const seconds = this.snapshotSeconds(storageGb);
    this.notify(`snapshot ${id} creating (~${Math.round(seconds / 60)} min)`);
    setTimeout(() => {
      if (snapshot.status !== 'creating') return;
      snapshot.status = 'available';
      snapshot.percentProgress = 100;
      this.notify(`snapshot ${id} available`);
      const arn = `arn:aws:rds:${this.envelope.region}:${this.envelope.account}:${kind === 'instance' ? 'snapshot' : 'cluster-snapshot'}:${id}`;
      this.bus.emit(
        'aws.rds',
        kind === 'instance' ? 'RDS DB Snapshot Event' : 'RDS DB Cluster Snapshot Event',
        [arn],
        {
          EventCategories: kind === 'instance' ? ['creation'] : ['backup'],
          SourceType: kind === 'instance' ? 'SNAPSHOT' : 'CLUSTER_SNAPSHOT',
          SourceArn: arn,
          Date: new Date().toISOString(),
          Message: kind === 'instance' ? 'Manual snapshot created' : 'Manual cluster snapshot created',
          SourceIdentifier: id,
          EventID: kind === 'instance' ? 'RDS-EVENT-0042' : 'RDS-EVENT-0075',
        },
      );
    }, seconds * 1000);
    return snapshot;
  }

  /** Makes a creating snapshot fail (fault injection). */
  failSnapshot(id: string) {
    const snapshot = this.snapshots.get(id);
    if (snapshot) snapshot.status = 'failed';
  }

  CreateDBSnapshot(input: {
    DBInstanceIdentifier: string;
    DBSnapshotIdentifier: string;
    Tags?: SimSnapshot['tags'];
  }) {
    const instance = this.instances.get(input.DBInstanceIdentifier);
    if (!instance)
      throw notFound('DBInstanceNotFoundFault', `DBInstance ${input.DBInstanceIdentifier} not found.`);
    const s = this.create(
      'instance',
      instance.id,
      input.DBSnapshotIdentifier,
      instance.storageGb,
      input.Tags,
    );
    return { DBSnapshot: this.instanceOut(s) };
  }

  CreateDBClusterSnapshot(input: {
    DBClusterIdentifier: string;
    DBClusterSnapshotIdentifier: string;
    Tags?: SimSnapshot['tags'];
  }) {
    const cluster = this.clusters.get(input.DBClusterIdentifier);
    if (!cluster)
      throw notFound('DBClusterNotFoundFault', `DBCluster ${input.DBClusterIdentifier} not found.`);
    const s = this.create(
      'cluster',
      cluster.id,
      input.DBClusterSnapshotIdentifier,
      cluster.storageGb,
      input.Tags,
    );
    return { DBClusterSnapshot: this.clusterOut(s) };
  }

  private instanceOut(s: SimSnapshot) {
    return {
      DBSnapshotIdentifier: s.id,
      DBInstanceIdentifier: s.source,
      Status: s.status,
      SnapshotType: 'manual',
      SnapshotCreateTime: s.createdAt,
      PercentProgress: s.percentProgress,
      TagList: structuredClone(s.tags ?? []),
    };
  }

  private clusterOut(s: SimSnapshot) {
    return {
      DBClusterSnapshotIdentifier: s.id,
      DBClusterIdentifier: s.source,
      Status: s.status,
      SnapshotType: 'manual',
      SnapshotCreateTime: s.createdAt,
      PercentProgress: s.percentProgress,
      TagList: structuredClone(s.tags ?? []),
    };
  }

  private select(
    kind: 'instance' | 'cluster',
    id: string | undefined,
    filters: Filters,
    filterName: string,
    source?: string,
  ) {
    const ids = new Set(filters?.find((f) => f.Name === filterName)?.Values ?? []);
    if (id) {
      const s = this.snapshots.get(kind === 'cluster' ? id.toLowerCase() : id);
      if (!s || s.kind !== kind) {
        throw notFound(
          kind === 'instance' ? 'DBSnapshotNotFoundFault' : 'DBClusterSnapshotNotFoundFault',
          `Snapshot ${id} not found.`,
        );
      }
      return [s];
    }
    return [...this.snapshots.values()].filter(
      (s) =>
        s.kind === kind && (ids.size === 0 || ids.has(s.id)) && (source === undefined || s.source === source),
    );
  }

  /** One page of `all`, as RDS pages its Describe answers (MaxRecords, default and most 100). */
  private page<T>(all: T[], marker: string | undefined, maxRecords: number | undefined) {
    const start = marker ? Number(marker) : 0;
    const size = Math.min(maxRecords ?? PAGE, PAGE);
    const next = start + size < all.length ? String(start + size) : undefined;
    return { items: all.slice(start, start + size), marker: next };
  }

  DeleteDBSnapshot(input: { DBSnapshotIdentifier: string }) {
    const [s] = this.select('instance', input.DBSnapshotIdentifier, undefined, '');
    if (s?.status === 'creating')
      throw awsError('InvalidDBSnapshotState', `Snapshot ${s.id} is being created.`);
    this.snapshots.delete(s?.id ?? '');
    this.notify(`snapshot ${s?.id} deleted`);
    return { DBSnapshot: s && { ...this.instanceOut(s), Status: 'deleted' } };
  }

  DeleteDBClusterSnapshot(input: { DBClusterSnapshotIdentifier: string }) {
    const [s] = this.select('cluster', input.DBClusterSnapshotIdentifier, undefined, '');
    if (s?.status === 'creating')
      throw awsError('InvalidDBClusterSnapshotStateFault', `Snapshot ${s.id} is being created.`);
    this.snapshots.delete(s?.id ?? '');
    this.notify(`snapshot ${s?.id} deleted`);
    return { DBClusterSnapshot: s && { ...this.clusterOut(s), Status: 'deleted' } };
  }

  DescribeDBSnapshots(input: {
    DBSnapshotIdentifier?: string;
    DBInstanceIdentifier?: string;
    Filters?: Filters;
    Marker?: string;
    MaxRecords?: number;
  }) {
    const all = this.select(
      'instance',
      input.DBSnapshotIdentifier,
      input.Filters,
      'db-snapshot-id',
      input.DBInstanceIdentifier,
    );
    const { items, marker } = this.page(all, input.Marker, input.MaxRecords);
    return { DBSnapshots: items.map((s) => this.instanceOut(s)), Marker: marker };
  }

  DescribeDBClusterSnapshots(input: {
    DBClusterSnapshotIdentifier?: string;
    DBClusterIdentifier?: string;
    Filters?: Filters;
    Marker?: string;
    MaxRecords?: number;
  }) {
    const all = this.select(
      'cluster',
      input.DBClusterSnapshotIdentifier,
      input.Filters,
      'db-cluster-snapshot-id',
      input.DBClusterIdentifier,
    );
    const { items, marker } = this.page(all, input.Marker, input.MaxRecords);
    return { DBClusterSnapshots: items.map((s) => this.clusterOut(s)), Marker: marker };
  }
}
