/**
 * The simulated account's DynamoDB: a function's call takes a few virtual milliseconds (the real
 * call to dynalite takes none), so Switchyard's own reads and writes count in lead time and time to
 * rollback; a test or the CLI reading the store outside a function is not slowed. Its tables are
 * made again for each runtime only once the old ones are gone, and its reads close what they open.
 */
import { createRequire } from 'node:module';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetTables, startDynalite } from '../../local/dynamo.ts';
import { invocation } from '../../local/faults.ts';
import { TABLES } from '../../local/runtime.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

// Before any runtime starts: a table's deletion here runs on the real clock.
describe('the local tables', () => {
  it('makes the tables again only once the old ones are gone: a table DELETING refuses CreateTable', async () => {
    // DynamoDB and dynalite delete a table in the background. dynalite frees it on a timer even at
    // 0 ms, and a CreateTable sent before that timer fired was refused with ResourceInUseException:
    // on a fast machine most runtimes of a file failed to start. 50 ms makes the wait certain.
    const dynalite = await startDynalite(50);
    const client = new DynamoDBClient({
      endpoint: dynalite.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: dynalite.handler,
    });
    try {
      await resetTables(client, TABLES);
      await resetTables(client, TABLES);
      const { TableNames } = await client.send(new ListTablesCommand({}));
      expect(TableNames?.sort()).toEqual(Object.values(TABLES).sort());
    } finally {
      client.destroy();
      await dynalite.close();
    }
  });
});

describe('DynamoDB in the simulated account', () => {
  let w: TestWorld;
  beforeAll(async () => {
    w = await startWorld({ automation: false });
  });
  afterAll(() => w.rt.dispose());

  it('takes 3-9 virtual ms per call made by a function, and none for a read from outside', async () => {
    const outside = Date.now();
    await w.deps.store.getLock('checkout-api');
    expect(Date.now()).toBe(outside);

    const inside = Date.now();
    await w.rt.until(
      invocation.run({ folder: 'acquire-lock' }, async () => {
        await w.deps.store.getLock('checkout-api');
        await w.deps.store.getLock('search-api');
      }),
    );
    const took = Date.now() - inside;
    expect(took).toBeGreaterThanOrEqual(6);
    expect(took).toBeLessThanOrEqual(18);
  });

  it('closes the store iterator behind every Query and Scan once read: an open one kept every version of every item', async () => {
    // dynalite's own copy of abstract-level, whose iterators it opens for each Query and Scan.
    const dynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
    const level = createRequire(dynalite.resolve('memory-level'))('abstract-level') as {
      AbstractLevel: {
        prototype: Record<'keys' | 'values', (...args: unknown[]) => { close: () => Promise<void> }>;
      };
    };
    const opened: { closed: boolean }[] = [];
    const originals = {
      keys: level.AbstractLevel.prototype.keys,
      values: level.AbstractLevel.prototype.values,
    };
    for (const method of ['keys', 'values'] as const) {
      level.AbstractLevel.prototype[method] = function (this: unknown, ...args: unknown[]) {
        const iterator = originals[method].apply(this, args);
        const record = { closed: false };
        opened.push(record);
        const close = iterator.close.bind(iterator);
        iterator.close = () => {
          record.closed = true;
          return close();
        };
        return iterator;
      };
    }
    try {
      await w.deps.store.releasesForTarget('checkout-api', 100);
      await w.deps.store.allLocks();
    } finally {
      Object.assign(level.AbstractLevel.prototype, originals);
    }
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.filter((i) => !i.closed)).toEqual([]);
  });
});
