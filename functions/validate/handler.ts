import { cloudwatch, ecr, ecs, elbv2, secrets, sns } from '../shared/clients.ts';
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
});
