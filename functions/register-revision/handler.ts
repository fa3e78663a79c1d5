import { ecr } from '../shared/clients/ecr.ts';
import { ecs } from '../shared/clients/ecs.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('RegisterRevision', inputSchema, run, { ecr, ecs });
