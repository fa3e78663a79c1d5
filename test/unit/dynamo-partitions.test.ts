/** DynamoDB's write throughput per partition, as the local runtime models it (local/dynamo-partitions.ts). */
import { describe, expect, it } from 'vitest';
import { PartitionLimits } from '../../local/dynamo-partitions.ts';

const limits = () => new PartitionLimits(new Map([['switchyard-releases', 'releaseId']]), 1000);
const write = (id: string) => ({ TableName: 'switchyard-releases', Key: { releaseId: { S: id } } });

describe('partition write limits', () => {
  it('admits 1,000 writes of one item in a second, refuses the next, and refills at 1,000 a second', () => {
    const l = limits();
    const at = 1_000_000;
    const admitted = Array.from({ length: 1_000 }, () => l.admits('UpdateItem', write('hot'), at));
    expect(admitted.every(Boolean)).toBe(true);
    expect(l.admits('UpdateItem', write('hot'), at)).toBe(false);
    expect(
      l.admits('PutItem', { TableName: 'switchyard-releases', Item: { releaseId: { S: 'hot' } } }, at),
    ).toBe(false);
    expect([...l.throttled.values()]).toEqual([2]);
    // Another item has its own partition's throughput; reads are not limited.
    expect(l.admits('UpdateItem', write('cold'), at)).toBe(true);
    expect(l.admits('GetItem', write('hot'), at)).toBe(true);
    // 100 ms later, 100 more.
    const later = Array.from({ length: 101 }, () => l.admits('DeleteItem', write('hot'), at + 100));
    expect(later.filter(Boolean)).toHaveLength(100);
  });
});
