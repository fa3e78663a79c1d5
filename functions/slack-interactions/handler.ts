import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { secrets } from '../shared/clients/secrets.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { baseDeps } from '../shared/deps.ts';
import { readEnv } from '../shared/env.ts';
import { type HttpEvent, post } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { cachedSecretString } from '../shared/secrets.ts';
import { run } from './run.ts';

const env = readEnv('SLACK_SIGNING_SECRET_SECRET');
const deps = {
  ...baseDeps(),
  sfn,
  signingSecret: () => cachedSecretString(secrets, env.SLACK_SIGNING_SECRET_SECRET),
  // Short: Slack wants its answer within 3 seconds, and this post comes before it.
  post: (url: string, body: unknown) => post(url, body, 1500),
};

// Raw body on purpose: Slack's signature covers the bytes as sent, so nothing parses them first.
export const handler = middy<HttpEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpHeaderNormalizer())
  .use(httpErrorHandler({ fallbackMessage: 'Switchyard could not handle this request' }))
  .handler((event) => run(event, deps));
