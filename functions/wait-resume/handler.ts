import middy from '@middy/core';
import { cloudwatch } from '../shared/clients/cloudwatch.ts';
import { ecs } from '../shared/clients/ecs.ts';
import { elbv2 } from '../shared/clients/elbv2.ts';
import { rds } from '../shared/clients/rds.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { baseDeps } from '../shared/deps.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { type Input, inputSchema } from './schema.ts';

const deps = { ...baseDeps(), ecs, rds, elbv2, cloudwatch, sfn };

export const handler = middy<Input>()
  .use(stepMiddlewares({ name: 'WaitResume', schema: inputSchema }))
  .handler((event) => run(event, deps));
