import { cloudwatch } from '../shared/clients/cloudwatch.ts';
import { ecs } from '../shared/clients/ecs.ts';
import { elbv2 } from '../shared/clients/elbv2.ts';
import { httpProbe as probe } from '../shared/probe.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('CheckHealth', inputSchema, run, { elbv2, probe, cloudwatch, ecs });
