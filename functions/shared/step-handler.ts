import middy from '@middy/core';
import type { z } from 'zod';
import { buildReleaseDeps, type ReleaseDeps } from './deps.ts';
import { stepMiddlewares } from './middleware.ts';

/**
 * A release step's Lambda handler: deps built once at init (cold start), then the shared middy
 * chain (logger, error classification, input schema, audit phase) around the step's pure `run`.
 */
export const releaseStep = <S extends z.ZodType, R>(
  name: string,
  schema: S,
  run: (input: z.output<S>, deps: ReleaseDeps) => Promise<R>,
) => {
  const deps = buildReleaseDeps();
  return middy<z.output<S>, R>()
    .use(stepMiddlewares({ name, schema, store: () => deps.store }))
    .handler((input) => run(input, deps));
};
