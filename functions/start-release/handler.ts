import middy from '@middy/core';
import { lambda } from '../shared/clients/lambda.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { baseDeps } from '../shared/deps.ts';
import { readEnv } from '../shared/env.ts';
import { warmUpFunctionsFrom } from '../shared/keep-warm.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { type Input, inputSchema } from './schema.ts';

const env = readEnv('RELEASE_STATE_MACHINE_ARN');
const deps = {
  ...baseDeps(),
  sfn,
  stateMachineArn: env.RELEASE_STATE_MACHINE_ARN,
  lambda,
  warmUpFunctions: warmUpFunctionsFrom(process.env.WARM_UP_FUNCTIONS),
};

export const handler = middy<Input>()
  .use(stepMiddlewares({ name: 'StartRelease', schema: inputSchema }))
  .handler((event) => run(event, deps));
