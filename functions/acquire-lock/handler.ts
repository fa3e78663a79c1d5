import { elbv2 } from '../shared/clients/elbv2.ts';
import { sfn } from '../shared/clients/sfn.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('AcquireLock', inputSchema, run, { sfn, elbv2 });
