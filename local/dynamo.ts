/**
 * DynamoDB for the local runtime: dynalite, a DynamoDB-compatible server, on loopback. Conditional
 * writes, queries and indexes behave as in AWS; data lives in memory.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type TableSchema, type Tables, tableSchemas } from '../functions/shared/store.ts';

export const startDynalite = async (): Promise<{ endpoint: string; close: () => Promise<void> }> => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const waitActive = async (client: DynamoDBClient, name: string) => {
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: name }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`table ${name} did not become ACTIVE`);
};

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
  for (const name of Object.values(tables)) await waitActive(client, name);
};
