/** The baseline handler with a DynamoDB document client, as the store builds it (bench/cold-start.ts). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { handler as bare } from '../baseline-handler.ts';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: { key: string }, context: Context) =>
  bare(await documents.send(new GetCommand({ TableName: 'locks', Key: { target: event.key } })), context);
