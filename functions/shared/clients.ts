/**
 * One AWS SDK client per service, created once per execution environment (module scope) and
 * shared by every step in the bundle. Region and credentials come from the standard chain.
 * The local runtime attaches its simulated-account transport to these same instances.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Only the local runtime sets this (dynalite on loopback); in AWS the regional endpoint is used.
const dynamoEndpoint = process.env.SWITCHYARD_DYNAMODB_ENDPOINT;

export const ecs = new ECSClient({});
export const elbv2 = new ElasticLoadBalancingV2Client({});
export const rds = new RDSClient({});
export const ecr = new ECRClient({});
export const sfn = new SFNClient({});
export const sns = new SNSClient({});
export const dynamo = new DynamoDBClient(dynamoEndpoint ? { endpoint: dynamoEndpoint } : {});
export const doc = DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});
