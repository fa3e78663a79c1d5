import middy from '@middy/core';
import { cloudwatch } from '../shared/clients/cloudwatch.ts';
import { ecs } from '../shared/clients/ecs.ts';
import { elbv2 } from '../shared/clients/elbv2.ts';
import { events } from '../shared/clients/eventbridge.ts';
import { lambda } from '../shared/clients/lambda.ts';
import { rds } from '../shared/clients/rds.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { sns } from '../shared/clients/sns.ts';
import { baseDeps } from '../shared/deps.ts';
import { warmUpFunctionsFrom } from '../shared/keep-warm.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

const deps = {
  ...baseDeps(),
  ecs,
  rds,
  elbv2,
  cloudwatch,
  sfn,
  sns,
  secrets,
  events,
  lambda,
  warmUpFunctions: warmUpFunctionsFrom(process.env.WARM_UP_FUNCTIONS),
  warmAlways: warmUpFunctionsFrom(process.env.WARM_ALWAYS_FUNCTIONS),
};

export const handler = middy()
  .use(stepMiddlewares({ name: 'Reconciler', schema: inputSchema }))
  .handler(() => run(deps));
