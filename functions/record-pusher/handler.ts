import middy from '@middy/core';
import { baseDeps } from '../shared/deps.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { type Input, inputSchema } from './schema.ts';

const deps = baseDeps();

export const handler = middy<Input>()
  .use(stepMiddlewares({ name: 'RecordPusher', schema: inputSchema }))
  .handler((event) => run(event, deps));
