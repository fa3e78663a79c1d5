/**
 * The cold-start yardstick (issue 19): the least a Switchyard function could be, a middy handler
 * with the Powertools logger and nothing else, bundled exactly as the functions are. Each function's
 * module initialisation is reported as a ratio to this one's, measured in the same run.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

const logger = new Logger({ serviceName: 'switchyard-baseline' });

export const handler = middy(async (event: unknown) => ({ ok: true, event })).use(
  injectLambdaContext(logger),
);
