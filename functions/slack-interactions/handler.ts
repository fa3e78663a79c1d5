import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { lambda } from '../shared/clients/lambda.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { readEnv } from '../shared/env.ts';
import { fromRestEvent, type RestEvent } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { cachedSecretString } from '../shared/secrets.ts';
import type { SlackClick } from '../shared/slack-click.ts';
import { run } from './run.ts';

const env = readEnv('SLACK_SIGNING_SECRET_SECRET', 'SLACK_DECISIONS_FUNCTION');
const deps = {
  now: () => new Date(),
  signingSecret: () => cachedSecretString(secrets, env.SLACK_SIGNING_SECRET_SECRET),
  handOver: async (click: SlackClick) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: env.SLACK_DECISIONS_FUNCTION,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(click)),
      }),
    );
  },
};

// Raw body on purpose: Slack's signature covers the bytes as sent, so nothing parses them first.
export const handler = middy<RestEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpHeaderNormalizer())
  .use(httpErrorHandler({ fallbackMessage: 'Switchyard could not handle this request' }))
  .handler((event) => run(fromRestEvent(event), deps));
