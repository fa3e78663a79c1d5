/**
 * The DynamoDB part (dynamodb.ts) with its client deferred to the first call, as issue 19 suggests
 * ("defer or cut it"): the bench measures whether that shortens a cold start or only moves it from the
 * init into the first invocation (bench/cold-start.ts times both).
 */
import type { Context } from 'aws-lambda';
import { handler as bare } from '../baseline-handler.ts';

const loadClient = async () => {
  const [{ DynamoDBClient }, { DynamoDBDocumentClient, GetCommand }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/lib-dynamodb'),
  ]);
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: process.env.BENCH_DYNAMODB_ENDPOINT }),
  );
  return (key: string) => documents.send(new GetCommand({ TableName: 'locks', Key: { target: key } }));
};
let client: ReturnType<typeof loadClient> | undefined;

export const handler = async (event: { key: string }, context: Context) => {
  client ??= loadClient();
  return bare(await (await client)(event.key), context);
};
