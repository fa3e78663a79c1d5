import { cloudwatch, elbv2, secrets, sns } from '../shared/clients.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('ShiftTraffic', inputSchema, run, { elbv2, cloudwatch, sns, secrets });
