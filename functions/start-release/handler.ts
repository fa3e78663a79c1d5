import middy from '@middy/core';
import { sfn } from '../shared/clients/sfn.ts';
import { loadTargetsFile } from '../shared/config.ts';
import { readEnv } from '../shared/env.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { type Input, inputSchema } from './schema.ts';

const env = readEnv('SWITCHYARD_TARGETS_FILE', 'RELEASE_STATE_MACHINE_ARN');
const deps = {
  sfn,
  targets: loadTargetsFile(env.SWITCHYARD_TARGETS_FILE),
  stateMachineArn: env.RELEASE_STATE_MACHINE_ARN,
};

export const handler = middy<Input>()
  .use(stepMiddlewares({ name: 'StartRelease', schema: inputSchema }))
  .handler((event) => run(event, deps));
