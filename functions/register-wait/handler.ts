import middy from '@middy/core';
import { cloudwatch } from '../shared/clients/cloudwatch.ts';
import { ecs } from '../shared/clients/ecs.ts';
import { elbv2 } from '../shared/clients/elbv2.ts';
import { events } from '../shared/clients/eventbridge.ts';
import { rds } from '../shared/clients/rds.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { sns } from '../shared/clients/sns.ts';
import { baseDeps } from '../shared/deps.ts';
import { stepMiddlewares } from '../shared/middleware.ts';
import { run } from './run.ts';
import { type Input, inputSchema } from './schema.ts';

const deps = { ...baseDeps(), ecs, rds, elbv2, cloudwatch, sfn, sns, secrets, events };

// No audit phase here: the wait's phase (start = registration, end = resume) is recorded on resume.
export const handler = middy<Input>()
  .use(stepMiddlewares({ name: 'RegisterWait', schema: inputSchema }))
  .handler((input) => run(input, deps));
