import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requestHandler } from './http.ts';

// Only the local runtime sets this (dynalite on loopback); in AWS the regional endpoint is used.
const dynamoEndpoint = process.env.SWITCHYARD_DYNAMODB_ENDPOINT;

export const dynamo = /* @__PURE__ */ new DynamoDBClient({
  requestHandler,
  ...(dynamoEndpoint ? { endpoint: dynamoEndpoint } : {}),
});
export const doc = /* @__PURE__ */ DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});
