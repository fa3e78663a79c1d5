import { rds } from '../shared/clients/rds.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('PruneSnapshots', inputSchema, run, { rds });
