import middy from '@middy/core';
import { buildReleaseDeps } from '../shared/deps.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

const deps = buildReleaseDeps();

export const handler = middy()
  .use(stepMiddlewares({ name: 'Reconciler', schema: inputSchema }))
  .handler(() => run(deps));
