import { ecs } from '../shared/clients/ecs.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('StartLambdaHook', inputSchema, run, { ecs });
