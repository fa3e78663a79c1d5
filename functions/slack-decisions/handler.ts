import middy from '@middy/core';
import { events } from '../shared/clients/eventbridge.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { baseDeps } from '../shared/deps.ts';
import { post } from '../shared/http.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { type SlackClick, slackClickSchema } from '../shared/slack-click.ts';
import { run } from './run.ts';

const deps = { ...baseDeps(), sfn, events, post: (url: string, body: unknown) => post(url, body, 3000) };

// Invoked asynchronously by slack-interactions once Slack has its acknowledgement.
export const handler = middy<SlackClick>()
  .use(stepMiddlewares({ name: 'SlackDecision', schema: slackClickSchema }))
  .handler((event) => run(event, deps));
