import { events } from '../shared/clients/eventbridge.ts';
import { secrets } from '../shared/clients/secrets.ts';
import { sns } from '../shared/clients/sns.ts';
import { releaseStep } from '../shared/step-handler.ts';
import { run } from './run.ts';
import { inputSchema } from './schema.ts';

export const handler = releaseStep('Notify', inputSchema, run, { sns, secrets, events });
