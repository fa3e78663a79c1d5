/**
 * DynamoDB's throughput per partition, for the functions' writes.
 *
 * "Each individual partition is limited to 1,000 write units per second and 3,000 read units per
 * second", on-demand tables included, and a table throttles a partition past it even with capacity
 * to spare (docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html,
 * and throttling-key-range-limit-exceeded-mitigation.html: KeyRangeThroughputExceeded; read
 * 2026-12-04). Modelled per item: adaptive capacity isolates a hot item on a partition of its own,
 * so one item gets at most one partition's throughput, and no more than that is assumed. A write of
 * an item up to 1 KB is one write unit, a conditional write whose condition fails included; larger
 * items cost more in AWS and one unit here (kinder, and only for items Switchyard writes rarely).
 * Reads are not limited here: no item of Switchyard's is read 3,000 times a second.
 */
import type { TableSchema } from '../functions/shared/store.ts';

/** A partition's write units a second (and so at once: no burst past it is assumed). */
export const PARTITION_WRITES_PER_SECOND = 1_000;

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

export class PartitionLimits {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Writes refused, by table and partition key. */
  readonly throttled = new Map<string, number>();

  constructor(
    /** Each table's partition key attribute, by table name. */
    private readonly partitionKeys: ReadonlyMap<string, string>,
    private readonly perSecond = PARTITION_WRITES_PER_SECOND,
  ) {}

  /**
   * Whether DynamoDB admits `operation` with `input` (the low-level client's, attributes marshalled)
   * now; a write it refuses is counted. Anything but a single-item write is admitted.
   */
  admits(operation: string, input: unknown, now = Date.now()): boolean {
    if (!WRITES.has(operation)) return true;
    const { TableName, Key, Item } = input as {
      TableName?: string;
      Key?: Record<string, unknown>;
      Item?: Record<string, unknown>;
    };
    const attribute = TableName ? this.partitionKeys.get(TableName) : undefined;
    const value = attribute ? (Key ?? Item)?.[attribute] : undefined;
    if (value === undefined) return true;
    const key = `${TableName}/${JSON.stringify(value)}`;
    const bucket = this.buckets.get(key) ?? { tokens: this.perSecond, at: now };
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      this.throttled.set(key, (this.throttled.get(key) ?? 0) + 1);
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }
}

/** The partition keys of the tables named `names` (table key → name), from their schemas. */
export const partitionKeysOf = (
  names: Record<string, string>,
  schemas: Record<string, TableSchema>,
): Map<string, string> =>
  new Map(
    Object.entries(names).flatMap(([table, name]) => {
      const schema = schemas[table];
      return schema ? [[name, schema.partitionKey] as [string, string]] : [];
    }),
  );
