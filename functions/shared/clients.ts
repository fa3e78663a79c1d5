/**
 * One AWS SDK client per service, created once per execution environment (module scope). Each
 * lives in its own module under `clients/`, and handlers import only the ones their step uses: the
 * SDK is external to the bundles (the Lambda runtime provides it), so an import of a client module
 * loads its package at cold start whether or not it is used (about 80-150 ms each, measured by
 * `npm run bench`). This barrel is for the local runtime, the CLI and tests, which use them all.
 * The local runtime attaches its simulated-account transport to these same instances.
 */
export { cloudwatch } from './clients/cloudwatch.ts';
export { doc, dynamo } from './clients/dynamodb.ts';
export { ecr } from './clients/ecr.ts';
export { ecs } from './clients/ecs.ts';
export { elbv2 } from './clients/elbv2.ts';
export { events } from './clients/eventbridge.ts';
export { lambda } from './clients/lambda.ts';
export { logs } from './clients/logs.ts';
export { rds } from './clients/rds.ts';
export { secrets } from './clients/secrets.ts';
export { ses } from './clients/ses.ts';
export { sfn } from './clients/sfn.ts';
export { sns } from './clients/sns.ts';
