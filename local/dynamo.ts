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
import type { Tables } from '../functions/shared/store.ts';

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

/** Drops and creates Switchyard's tables, empty (key schema as the CDK stack defines it). */
export const resetTables = async (client: DynamoDBClient, tables: Tables) => {
  for (const name of Object.values(tables)) {
    try {
      await client.send(new DeleteTableCommand({ TableName: name }));
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    }
  }
  const s = 'S' as const;
  await client.send(
    new CreateTableCommand({
      TableName: tables.locks,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'target', AttributeType: s }],
      KeySchema: [{ AttributeName: 'target', KeyType: 'HASH' }],
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: tables.releases,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'releaseId', AttributeType: s },
        { AttributeName: 'target', AttributeType: s },
        { AttributeName: 'createdAt', AttributeType: s },
      ],
      KeySchema: [{ AttributeName: 'releaseId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byTarget',
          KeySchema: [
            { AttributeName: 'target', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: tables.waits,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'resourceKey', AttributeType: s },
        { AttributeName: 'waitId', AttributeType: s },
      ],
      KeySchema: [
        { AttributeName: 'resourceKey', KeyType: 'HASH' },
        { AttributeName: 'waitId', KeyType: 'RANGE' },
      ],
    }),
  );
  for (const name of Object.values(tables)) await waitActive(client, name);
};
