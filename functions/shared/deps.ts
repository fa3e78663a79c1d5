/**
 * Builds the dependencies of the release steps once, at cold start: validated environment, the
 * targets config, the DynamoDB store and the module-scope AWS clients.
 */
import * as clients from './clients.ts';
import { loadTargetsFile } from './config.ts';
import { readEnv } from './env.ts';
import { httpProbe } from './probe.ts';
import { createStore } from './store.ts';

export const buildReleaseDeps = () => {
  const env = readEnv('SWITCHYARD_TARGETS_FILE', 'LOCKS_TABLE', 'RELEASES_TABLE', 'WAITS_TABLE');
  return {
    targets: loadTargetsFile(env.SWITCHYARD_TARGETS_FILE),
    store: createStore(clients.doc, {
      locks: env.LOCKS_TABLE,
      releases: env.RELEASES_TABLE,
      waits: env.WAITS_TABLE,
    }),
    ecs: clients.ecs,
    elbv2: clients.elbv2,
    rds: clients.rds,
    ecr: clients.ecr,
    sfn: clients.sfn,
    sns: clients.sns,
    probe: httpProbe,
    now: () => new Date(),
  };
};
export type ReleaseDeps = ReturnType<typeof buildReleaseDeps>;
