import type { Backend } from '../../cli/backend.ts';
import type { LocalRuntime } from '../../local/runtime.ts';

/** The CLI's backend on a test world: the functions' own clients, run in the world's virtual time. */
export const backendOf = async (rt: LocalRuntime, kind: 'aws' | 'local'): Promise<Backend> => {
  const clients = await import('../../functions/shared/clients.ts');
  const timed = <T extends object>(target: T): T => rt.timed(target);
  return {
    kind,
    targets: rt.targets,
    clients: {
      sfn: timed(clients.sfn),
      cloudwatch: timed(clients.cloudwatch),
      ecr: timed(clients.ecr),
      ecs: timed(clients.ecs),
      elbv2: timed(clients.elbv2),
    },
    store: timed(rt.store),
    now: () => new Date(),
  } as unknown as Backend;
};
