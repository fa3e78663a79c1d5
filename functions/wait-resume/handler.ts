import middy from '@middy/core';
import { buildReleaseDeps } from '../shared/deps.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { type Input, inputSchema } from './schema.ts';

const deps = buildReleaseDeps();

export const handler = middy<Input>()
  .use(stepMiddlewares({ name: 'WaitResume', schema: inputSchema }))
  .handler((event) => run(event, deps));
