/**
 * Every AWS client gives up on a lost answer at its request timeout (functions/shared/clients/http.ts)
 * instead of waiting on the socket past the function's own timeout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, describe, expect, it } from 'vitest';
import { REQUEST_TIMEOUT_MS, requestHandler } from '../../functions/shared/clients/http.ts';
import * as clients from '../../functions/shared/clients.ts';

// Answers nothing, ever: a lost answer.
const silent = createServer(() => undefined);
afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));

describe('AWS clients', () => {
  it('each throws at a request timeout of at most 10 s (without throwOnRequestTimeout the handler only logs)', async () => {
    const all = Object.entries(clients).filter(([name]) => name !== 'doc');
    expect(all.length).toBeGreaterThanOrEqual(13);
    for (const [name, client] of all) {
      const handler = (client as { config: { requestHandler: { configProvider?: Promise<unknown> } } }).config
        .requestHandler;
      const options = (await handler.configProvider) as {
        requestTimeout?: number;
        throwOnRequestTimeout?: boolean;
      };
      expect(options.throwOnRequestTimeout, name).toBe(true);
      expect(options.requestTimeout, name).toBeGreaterThan(0);
      expect(options.requestTimeout, name).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS);
    }
  });

  it('a call whose answer never comes fails with TimeoutError at the request timeout (which the SDK retries), not after the socket timeout', async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const client = new ECSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
      // The shipped options, with a shorter timeout so the test does not wait 10 s.
      requestHandler: { ...requestHandler, requestTimeout: 200 },
    });
    await expect(
      client.send(new DescribeServicesCommand({ cluster: 'c', services: ['s'] })),
    ).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    client.destroy();
  });
});
