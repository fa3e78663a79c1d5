import { cloudwatch } from '../shared/clients/cloudwatch.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('RecordLambdaHook', inputSchema, run, { cloudwatch });
