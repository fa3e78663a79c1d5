import { cloudwatch, elbv2 } from '../shared/clients.ts';
import { httpProbe as probe } from '../shared/probe.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('CheckHealth', inputSchema, run, { elbv2, probe, cloudwatch });
