/**
 * The middy chain every step shares: Powertools logger with the Lambda context, input validated
 * with the step's zod schema, an audit-trail phase per invocation, and AWS errors classified so the
 * state machine retries one name (`TransientError`).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj, Request } from '@middy/core';
import type * as z from 'zod';
import { formatIssues } from './config.ts';
import { classifyError, InvalidInput } from './errors.ts';
import { logger } from './logger.ts';
import type { Store } from './store.ts';
import { answerWarmUp } from './warm-up.ts';

/** Replaces the event with the schema's output; an invalid event is `InvalidInput` naming each field. */
export const parseInput = <S extends z.ZodType>(schema: S, what: string): MiddlewareObj => ({
  name: 'parseInput',
  before: (request) => {
    const result = schema.safeParse(request.event);
    if (!result.success) throw new InvalidInput(`${what} input is invalid:\n${formatIssues(result.error)}`);
    request.event = result.data;
    const { releaseId, target } = (result.data ?? {}) as { releaseId?: unknown; target?: unknown };
    logger.appendKeys({
      releaseId: typeof releaseId === 'string' ? releaseId : undefined,
      target: typeof target === 'string' ? target : undefined,
    });
  },
});

/** Maps transient AWS errors to `TransientError`; logs every failure with the release keys. */
export const classifyErrors = (): MiddlewareObj => ({
  name: 'classifyErrors',
  onError: (request) => {
    request.error = classifyError(request.error) as Error;
    logger.error('step failed', { error: request.error as Error });
  },
});

/** Appends `{ name, startedAt, endedAt, status }` to the release record after each invocation. */
export const auditPhase = (phase: string, store: () => Store): MiddlewareObj => {
  // Kept on the request, not in a closure: the local runtime runs many invocations of one handler at once.
  const record = async (request: Request, status: 'succeeded' | 'failed', detail?: string) => {
    const releaseId = (request.event as { releaseId?: unknown } | undefined)?.releaseId;
    const startedAt = (request.internal as Record<string, unknown>).phaseStartedAt as string | undefined;
    if (typeof releaseId !== 'string' || !startedAt) return;
    try {
      await store().appendPhase(releaseId, {
        name: phase,
        startedAt,
        endedAt: new Date().toISOString(),
        status,
        detail,
      });
    } catch (error) {
      // The audit write must not turn a finished step into a failed one; the log keeps the trace.
      logger.warn('could not record phase', { phase, error: error as Error });
    }
  };
  return {
    name: 'auditPhase',
    before: (request) => {
      (request.internal as Record<string, unknown>).phaseStartedAt = new Date().toISOString();
    },
    // A step may describe what it did in `summary` (e.g. "10% on green"); it becomes the phase's detail.
    after: async (request) => {
      const summary = (request.response as { summary?: unknown } | undefined)?.summary;
      await record(request, 'succeeded', typeof summary === 'string' ? summary.slice(0, 500) : undefined);
    },
    onError: async (request) => record(request, 'failed', request.error?.message?.slice(0, 500)),
  };
};

export interface StepOptions<S extends z.ZodType> {
  /** Step name, as in the ASL and the audit trail. */
  name: string;
  schema: S;
  /** Store for the audit trail; omit for steps that are not part of a release (triggers, reconciler). */
  store?: () => Store;
}

/** The shared chain, in order: a warm-up's answer (warm-up.ts), logger, error classification, input parsing, audit phase. */
export const stepMiddlewares = <S extends z.ZodType>(options: StepOptions<S>): MiddlewareObj[] => [
  answerWarmUp(),
  injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj,
  classifyErrors(),
  parseInput(options.schema, options.name),
  ...(options.store ? [auditPhase(options.name, options.store)] : []),
];
