import middy from '@middy/core';
import { ecr } from '../shared/clients/ecr.ts';
import { ecs } from '../shared/clients/ecs.ts';
import { events } from '../shared/clients/eventbridge.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { ses } from '../shared/clients/ses.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { baseDeps } from '../shared/deps.ts';
import { readEnv } from '../shared/env.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { type Input, inputSchema } from './schema.ts';

const env = readEnv('APPROVAL_KEY_SECRET', 'APPROVAL_BASE_URL');
const base = baseDeps();
const deps = {
  ...base,
  ecs,
  ecr,
  ses,
  sfn,
  secrets,
  events,
  keySecret: env.APPROVAL_KEY_SECRET,
  baseUrl: env.APPROVAL_BASE_URL,
};

// No audit phase here: the approval's phase is recorded when it is decided.
export const handler = middy<Input>()
  .use(stepMiddlewares({ name: 'RequestApproval', schema: inputSchema }))
  .handler((input) => run(input, deps));
