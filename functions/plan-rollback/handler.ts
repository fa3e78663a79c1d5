import { ecs, elbv2 } from '../shared/clients.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('PlanRollback', inputSchema, run, { ecs, elbv2 });
