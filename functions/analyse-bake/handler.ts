import { cloudwatch } from '../shared/clients/cloudwatch.ts';
import { elbv2 } from '../shared/clients/elbv2.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('AnalyseBake', inputSchema, run, { cloudwatch, elbv2 });
