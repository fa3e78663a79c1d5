/**
 * DynamoDB for the local runtime: dynalite, a DynamoDB-compatible server, on loopback. Conditional
 * writes, queries and indexes behave as in AWS; data lives in memory.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type TableSchema, type Tables, tableSchemas } from '../functions/shared/store.ts';

/**
 * dynalite keeps its items in memory-level, which stores each key and value as a Buffer of its JSON.
 * A small Buffer is a slice of one of Node's 8 KB pool slabs, and a slice kept keeps its whole slab.
 * Each key and value stored is copied into a Buffer of its own size first; bytes and their order are
 * unchanged. At 300 releases at once (the bench's scale run), the ArrayBuffers still reachable after
 * a full GC went from 24 to 9 MB.
 */
const ownedBuffer = (value: unknown): unknown => {
  if (!Buffer.isBuffer(value) || value.byteLength === value.buffer.byteLength) return value;
  const owned = Buffer.allocUnsafeSlow(value.byteLength);
  value.copy(owned);
  return owned;
};

interface MemoryLevelStore {
  _put(key: unknown, value: unknown, options: unknown): Promise<void>;
  _batch(operations: { type: string; key: unknown; value?: unknown }[], options: unknown): Promise<void>;
}
const patched = Symbol('switchyard: dynalite kept to its items');
/** Keeps dynalite's memory to its items: see ownedBuffer, and the iterators below. */
const keepDynaliteToItsItems = () => {
  const dynaliteRequire = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { MemoryLevel } = dynaliteRequire('memory-level') as {
    MemoryLevel: { prototype: MemoryLevelStore & { [patched]?: true } };
  };
  const store = MemoryLevel.prototype;
  if (store[patched]) return;
  const { _put: put, _batch: batch } = store;
  store._put = function (key, value, options) {
    return put.call(this, ownedBuffer(key), ownedBuffer(value), options);
  };
  store._batch = function (operations, options) {
    return batch.call(
      this,
      operations.map((op) => ({ ...op, key: ownedBuffer(op.key), value: ownedBuffer(op.value) })),
      options,
    );
  };
  store[patched] = true;
  // dynalite closes the iterator behind each key or value stream it reads (a Query, a Scan) by
  // calling its `return()`, which abstract-level 3's iterators do not have: none was ever closed,
  // and each open iterator keeps its snapshot of the whole store, every version of every item since.
  // At 100 releases, 328 open iterators held 10,584 tree nodes for 504 live ones; at 1,000 the scale
  // run's peak RSS was 1,031 MiB, and 608 MiB with this. `return()` closes it, as an async iterator's does.
  const level = createRequire(dynaliteRequire.resolve('memory-level'))('abstract-level') as Record<
    string,
    { prototype: { return?: () => Promise<void>; close: () => Promise<void> } } | undefined
  >;
  for (const name of ['AbstractIterator', 'AbstractKeyIterator', 'AbstractValueIterator']) {
    const iterator = level[name]?.prototype;
    if (iterator && !iterator.return)
      iterator.return = function () {
        return this.close();
      };
  }
};

export const startDynalite = async (
  /** How long dynalite keeps a deleted table DELETING; 0 still frees it only on a timer. */
  deleteTableMs = 0,
): Promise<{
  endpoint: string;
  handler: InProcessHandler;
  close: () => Promise<void>;
}> => {
  keepDynaliteToItsItems();
  const server = dynalite({ createTableMs: 0, deleteTableMs, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const listener = server.listeners('request')[0] as DynaliteListener;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    handler: inProcessHandler(listener),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

type DynaliteListener = (
  req: EventEmitter & { method: string; url: string; headers: Record<string, string> },
  res: {
    statusCode: number;
    setHeader: (name: string, value: unknown) => void;
    end: (body?: string) => void;
  },
) => void;
type InProcessHandler = ReturnType<typeof inProcessHandler>;

/**
 * The SDK's transport for DynamoDB in the local runtime: the signed HTTP request the client built is
 * handed to dynalite's request listener in this process, and its HTTP response comes back, without
 * a socket. Serialization, signing, dynalite's validation and the SDK's parsing of the answer are
 * the same as over loopback; the socket was half of each call's CPU time in the test suite.
 */
const inProcessHandler = (listener: DynaliteListener) => ({
  metadata: { handlerProtocol: 'http/1.1' },
  handle: (request: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string | Uint8Array;
  }) =>
    new Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }>(
      (resolve) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
        const req = Object.assign(new EventEmitter(), { method: request.method, url: request.path, headers });
        const answer: Record<string, string> = {};
        const res = {
          statusCode: 200,
          setHeader: (name: string, value: unknown) => {
            answer[name.toLowerCase()] = String(value);
          },
          end: (body?: string) =>
            resolve({
              response: { statusCode: res.statusCode, headers: answer, body: Buffer.from(body ?? '') },
            }),
        };
        listener(req, res);
        // As a socket would: the body arrives after the listener is attached.
        process.nextTick(() => {
          const body = request.body;
          // A view, not Buffer.from(body): the SDK's body is a Uint8Array that also acts as a string.
          if (typeof body === 'string') req.emit('data', Buffer.from(body));
          else if (body) req.emit('data', Buffer.from(body.buffer, body.byteOffset, body.byteLength));
          req.emit('end');
        });
      },
    ),
  updateHttpClientConfig: () => {},
  httpHandlerConfigs: () => ({}),
  destroy: () => {},
});

/**
 * Skips SigV4 for DynamoDB in the local runtime, as the simulated services' transport does: dynalite
 * never checks a signature, only that the request carries a well-formed `Authorization` header and a
 * date, which this writes instead. Signing (hashing each body, an HMAC chain per call) was 8 % of a
 * local release's CPU. Requests, serialization and dynalite's answers are unchanged.
 */
export const skipSigning = (client: DynamoDBClient) => {
  const name = 'switchyardUnsigned';
  client.middlewareStack.remove('httpSigningMiddleware');
  // Headers dynalite never reads, as DynamoDB's answers never depend on them: the user agent (1 %
  // of a local release's CPU) and the X-Ray trace id.
  client.middlewareStack.remove('getUserAgentMiddleware');
  client.middlewareStack.remove('recursionDetectionMiddleware');
  client.middlewareStack.remove(name);
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers: Record<string, string> };
      const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
      request.headers.authorization = `AWS4-HMAC-SHA256 Credential=local/${date.slice(0, 8)}/local/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=unsigned`;
      request.headers['x-amz-date'] = date;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name },
  );
};

/**
 * The SDK's own table waiters, polling every few real milliseconds: DynamoDB, like dynalite (on a
 * timer even at 0 ms), creates and deletes a table in the background, and a CreateTable of a name
 * still DELETING is refused with ResourceInUseException, as AWS refuses it.
 */
const tableWaiter = (client: DynamoDBClient) => ({ client, maxWaitTime: 5, minDelay: 0.005, maxDelay: 0.05 });

const keySchema = (hash: string, range?: string) => [
  { AttributeName: hash, KeyType: 'HASH' as const },
  ...(range ? [{ AttributeName: range, KeyType: 'RANGE' as const }] : []),
];

/** Drops and creates Switchyard's tables, empty, from the same key schema the CDK stack deploys. */
export const resetTables = async (client: DynamoDBClient, tables: Tables) => {
  for (const name of Object.values(tables)) {
    try {
      await client.send(new DeleteTableCommand({ TableName: name }));
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    }
  }
  for (const name of Object.values(tables))
    await waitUntilTableNotExists(tableWaiter(client), { TableName: name });
  for (const [key, schema] of Object.entries(tableSchemas) as [keyof Tables, TableSchema][]) {
    const attributes = [
      ...new Set([schema.partitionKey, schema.sortKey, schema.index?.partitionKey, schema.index?.sortKey]),
    ];
    await client.send(
      new CreateTableCommand({
        TableName: tables[key],
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributes
          .filter((a) => a !== undefined)
          .map((a) => ({ AttributeName: a, AttributeType: 'S' })),
        KeySchema: keySchema(schema.partitionKey, schema.sortKey),
        GlobalSecondaryIndexes: schema.index && [
          {
            IndexName: schema.index.name,
            KeySchema: keySchema(schema.index.partitionKey, schema.index.sortKey),
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  }
  for (const name of Object.values(tables))
    await waitUntilTableExists(tableWaiter(client), { TableName: name });
};
