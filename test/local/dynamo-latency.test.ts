/**
 * The simulated account's DynamoDB: a function's call takes a few virtual milliseconds (the real
 * call to dynalite takes none), so Switchyard's own reads and writes count in lead time and time to
 * rollback; a test or the CLI reading the store outside a function is not slowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invocation } from '../../local/faults.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld;
beforeAll(async () => {
  w = await startWorld({ automation: false });
});
afterAll(() => w.rt.dispose());

describe('DynamoDB in the simulated account', () => {
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
});
