/** The baseline handler with a DynamoDB document client, as the store builds it (bench/cold-start.ts). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { handler as bare } from '../baseline-handler.ts';

// The bench points the first call at a local DynamoDB (BENCH_DYNAMODB_ENDPOINT); deployed, the default.
const documents = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: process.env.BENCH_DYNAMODB_ENDPOINT }),
);

export const handler = async (event: { key: string }, context: Context) =>
  bare(await documents.send(new GetCommand({ TableName: 'locks', Key: { target: event.key } })), context);
