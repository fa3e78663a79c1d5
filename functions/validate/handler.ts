import { cloudwatch } from '../shared/clients/cloudwatch.ts';
import { ecr } from '../shared/clients/ecr.ts';
import { ecs } from '../shared/clients/ecs.ts';
import { elbv2 } from '../shared/clients/elbv2.ts';
import { events } from '../shared/clients/eventbridge.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { sns } from '../shared/clients/sns.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('Validate', inputSchema, run, {
  ecr,
  ecs,
  elbv2,
  cloudwatch,
  sns,
  secrets,
  events,
});
