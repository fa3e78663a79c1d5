/**
 * Builds the dependencies of the release steps once, at cold start: validated environment, the
 * targets config, the DynamoDB store and the module-scope AWS clients.
 */
import * as clients from './clients.ts';
import { loadTargetsFile, type TargetsFile } from './config.ts';
import { readEnv } from './env.ts';
import { httpProbe } from './probe.ts';
import { createStore, type Store } from './store.ts';

/** The steps' dependencies around a given config and store (tests pass their own). */
export const releaseDeps = (targets: TargetsFile, store: Store) => ({
  targets,
  store,
  ecs: clients.ecs,
  elbv2: clients.elbv2,
  rds: clients.rds,
  ecr: clients.ecr,
  sfn: clients.sfn,
  sns: clients.sns,
  probe: httpProbe,
  now: () => new Date(),
});
export type ReleaseDeps = ReturnType<typeof releaseDeps>;

export const buildReleaseDeps = (): ReleaseDeps => {
  const env = readEnv('SWITCHYARD_TARGETS_FILE', 'LOCKS_TABLE', 'RELEASES_TABLE', 'WAITS_TABLE');
  return releaseDeps(
    loadTargetsFile(env.SWITCHYARD_TARGETS_FILE),
    createStore(clients.doc, {
      locks: env.LOCKS_TABLE,
      releases: env.RELEASES_TABLE,
      waits: env.WAITS_TABLE,
    }),
  );
};
