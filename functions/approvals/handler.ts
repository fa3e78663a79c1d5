import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { events } from '../shared/clients/eventbridge.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { baseDeps } from '../shared/deps.ts';
import { readEnv } from '../shared/env.ts';
import { fromRestEvent, type RestEvent } from '../shared/http.ts';
import { logger } from '../shared/logger.ts';
import { signingKey } from '../shared/secrets.ts';
import { run } from './run.ts';

const env = readEnv('APPROVAL_KEY_SECRET');
const deps = { ...baseDeps(), sfn, events, key: () => signingKey(secrets, env.APPROVAL_KEY_SECRET) };

// API Gateway REST API route handler (Lambda proxy, payload 1.0). No query strings or bodies are logged: they carry signatures.
export const handler = middy<RestEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpHeaderNormalizer())
  .use(httpErrorHandler({ fallbackMessage: 'Switchyard could not handle this request' }))
  .handler((event) => run(fromRestEvent(event), deps));
