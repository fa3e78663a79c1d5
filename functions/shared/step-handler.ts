import middy from '@middy/core';
import type * as z from 'zod';
import { type BaseDeps, baseDeps } from './deps.ts';
import { stepMiddlewares } from './middleware.ts';

/**
 * A release step's Lambda handler: deps built once at init (cold start) from the environment plus
 * the clients the step names (so its bundle carries no others), then the shared middy chain
 * (logger, error classification, input schema, audit phase) around the step's `run`.
 */
export const releaseStep = <S extends z.ZodType, R, D extends object>(
  name: string,
  schema: S,
  run: (input: z.output<S>, deps: BaseDeps & D) => Promise<R>,
  aws: D,
) => {
  const deps = { ...baseDeps(), ...aws };
  return middy<z.output<S>, R>()
    .use(stepMiddlewares({ name, schema, store: () => deps.store }))
    .handler((input, context) =>
      // This invocation: its id, and when it ends at the latest (shared/service-claims.ts).
      run(input, {
        ...deps,
        invocationId: context.awsRequestId,
        invocationEndsAt: deps.now().getTime() + context.getRemainingTimeInMillis(),
      }),
    );
};
