import { ecs } from '../shared/clients/ecs.ts';
import { logs } from '../shared/clients/logs.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('RecordHook', inputSchema, run, { ecs, logs });
