/**
 * One AWS SDK client per service, created once per execution environment (module scope) and
 * shared by every step in the bundle. Region and credentials come from the standard chain.
 * The local runtime attaches its simulated-account transport to these same instances.
 * `@__PURE__` lets the bundler drop the clients a step does not import.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Only the local runtime sets this (dynalite on loopback); in AWS the regional endpoint is used.
const dynamoEndpoint = process.env.SWITCHYARD_DYNAMODB_ENDPOINT;

export const ecs = /* @__PURE__ */ new ECSClient({});
export const elbv2 = /* @__PURE__ */ new ElasticLoadBalancingV2Client({});
export const rds = /* @__PURE__ */ new RDSClient({});
export const ecr = /* @__PURE__ */ new ECRClient({});
export const sfn = /* @__PURE__ */ new SFNClient({});
export const sns = /* @__PURE__ */ new SNSClient({});
export const cloudwatch = /* @__PURE__ */ new CloudWatchClient({});
export const secrets = /* @__PURE__ */ new SecretsManagerClient({});
export const dynamo = /* @__PURE__ */ new DynamoDBClient(dynamoEndpoint ? { endpoint: dynamoEndpoint } : {});
export const doc = /* @__PURE__ */ DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});
