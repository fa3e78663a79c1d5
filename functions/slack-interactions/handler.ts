import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { HttpEvent } from '../approvals/run.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { baseDeps } from '../shared/deps.ts';
import { readEnv } from '../shared/env.ts';
import { logger } from '../shared/logger.ts';
import { run } from './run.ts';

const env = readEnv('SLACK_SIGNING_SECRET_SECRET');
const deps = {
  ...baseDeps(),
  sfn,
  signingSecret: async () =>
    (await secrets.send(new GetSecretValueCommand({ SecretId: env.SLACK_SIGNING_SECRET_SECRET })))
      .SecretString ?? '',
  post: async (url: string, body: unknown) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  },
};

// Raw body on purpose: Slack's signature covers the bytes as sent, so nothing parses them first.
export const handler = middy<HttpEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpHeaderNormalizer())
  .use(httpErrorHandler({ fallbackMessage: 'Switchyard could not handle this request' }))
  .handler((event) => run(event, deps));
