import { ecs } from '../shared/clients/ecs.ts';
import { elbv2 } from '../shared/clients/elbv2.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('StopMember', inputSchema, run, { ecs, elbv2 });
