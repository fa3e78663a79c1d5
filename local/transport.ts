/**
 * Replaces only the transport of the real AWS SDK clients: a middleware inside the SDK's retry loop
 * (just before SigV4 signing) answers the command from the simulated account instead of sending
 * HTTP. The commands, the endpoint resolution and the SDK's retry behaviour on throttling and 5xx
 * stay the real ones. What only builds or signs the HTTP request is skipped (HTTP_ONLY, and the
 * signature): the simulated account answers from the command's input and authorizes by the calling
 * function's role (local/iam).
 */

import type { DeserializeMiddleware, FinalizeRequestMiddleware, SerializeMiddleware } from '@smithy/types';
import { REQUEST_TIMEOUT_MS } from '../functions/shared/clients/http.ts';
import { awsError, timeoutError } from './account/errors.ts';
import type { SimulatedAccount } from './account/index.ts';

interface AnyClient {
  config: object;
  middlewareStack: {
    add: {
      (
        // biome-ignore lint/suspicious/noExplicitAny: every SDK client's stack, whatever its input/output types
        middleware: DeserializeMiddleware<any, any>,
        options: { step: 'deserialize'; name: string; priority: 'high' },
      ): void;
      // biome-ignore lint/suspicious/noExplicitAny: every SDK client's stack, whatever its input/output types
      (middleware: SerializeMiddleware<any, any>, options: { step: 'serialize'; name: string }): void;
    };
    addRelativeTo: (
      // biome-ignore lint/suspicious/noExplicitAny: every SDK client's stack, whatever its input/output types
      middleware: FinalizeRequestMiddleware<any, any>,
      options: { relation: 'before'; toMiddleware: string; name: string },
    ) => void;
    remove: (name: string) => boolean;
  };
}

const NAME = 'switchyardSimulatedAccount';

/**
 * Middlewares that only build the HTTP request (its body, length, host, user agent and trace
 * header). The simulated account answers from the command's input and never sees the request, so
 * they did nothing but cost a fifth of each call: the body's serialization alone cost as much as
 * the answer. What can fail a call in AWS stays: the endpoint, the retry loop and the answer.
 */
const HTTP_ONLY = [
  'serializerMiddleware',
  'contentLengthMiddleware',
  'getUserAgentMiddleware',
  'hostHeaderMiddleware',
  'recursionDetectionMiddleware',
];

/** Points `client` at `account` (replacing any previous one). */
export const attachAccount = (client: AnyClient, account: () => SimulatedAccount) => {
  // DynamoDB is dynalite's (local/dynamo.ts); the handler cache below would also break its document
  // client, which shares this config: its commands would all send the first call's input.
  if (client.constructor.name.startsWith('DynamoDB'))
    throw new Error('attachAccount: DynamoDB clients talk to dynalite, not the simulated account');
  client.middlewareStack.remove(NAME);
  for (const name of HTTP_ONLY) client.middlewareStack.remove(name);
  // The endpoint middleware is placed relative to the serializer by name: a pass-through keeps it.
  client.middlewareStack.add((next) => (args) => next(args), {
    step: 'serialize',
    name: 'serializerMiddleware',
  });
  client.middlewareStack.addRelativeTo(
    (_next, context) => async (args) => {
      const output = await account().handle(context.clientName ?? '', context.commandName ?? '', args.input);
      return {
        output: { ...output, $metadata: { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 } },
        response: {},
      };
    },
    { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: NAME },
  );
  // The SDK's own option: each command's middleware chain is built on its first call and reused,
  // instead of copied and sorted again for every call (a twentieth of a simulated call's CPU). The
  // chain is the same either way: no command here adds middleware of its own, and no call passes
  // options (a call that did would drop the whole cache, and build chains afresh). Handlers built
  // before the stack changed go.
  Object.assign(client.config, { cacheMiddleware: true });
  delete (client as { handlers?: unknown }).handlers;
};

interface RetryConfig {
  retryStrategy: () => Promise<unknown>;
  maxAttempts: () => Promise<number>;
}
interface StandardStrategy {
  mode: string;
  baseDelay?: number;
  constructor: new (options: { maxAttempts: number; baseDelay?: number }) => unknown;
}

/**
 * Gives each Lambda execution environment its own retry strategy for `client`, as in AWS, where each
 * environment builds its own clients: the SDK's standard strategy keeps a retry quota (500 tokens, 5
 * per retried throttle, refunded by successes), so one environment's throttled calls never use up
 * another's retries. Locally the functions' clients are one per process: without this, every
 * invocation of every function drew on one quota. The strategy is of the client's own class, with
 * its attempts and base delay; outside an invocation (a test, the CLI) the client's own is used.
 */
export const retryPerEnvironment = (
  client: AnyClient,
  environment: () => { state: Map<unknown, unknown> } | undefined,
) => {
  const config = client.config as RetryConfig & { switchyardOwnRetryStrategy?: () => Promise<unknown> };
  // Attached once per client: a second call would wrap the wrapper.
  config.switchyardOwnRetryStrategy ??= config.retryStrategy;
  const own = config.switchyardOwnRetryStrategy;
  const fresh = async () => {
    const template = (await own()) as StandardStrategy;
    if (template.mode !== 'standard')
      throw new Error(`retryPerEnvironment: only the standard retry mode is modelled, not ${template.mode}`);
    return new template.constructor({
      maxAttempts: await config.maxAttempts(),
      baseDelay: template.baseDelay,
    });
  };
  config.retryStrategy = () => {
    const state = environment()?.state;
    if (!state) return own();
    let strategy = state.get(client) as Promise<unknown> | undefined;
    if (!strategy) {
      strategy = fresh();
      state.set(client, strategy);
    }
    return strategy;
  };
};

/**
 * Counts real I/O in flight (DynamoDB over loopback) so virtual time only moves when it is done, and
 * applies the simulated account's faults to these calls too (`fault`, by operation name).
 */
export const trackIo = (
  client: AnyClient,
  io: {
    begin: () => void;
    end: () => void;
    /** Runs the real call (one at a time, in order). */
    serial: <T>(call: () => Promise<T>) => Promise<T>;
    /** Virtual time the answer takes to arrive, after the real call took effect. */
    latencyMs?: () => number;
    fault?: (
      operation: string,
      input: unknown,
    ) => { error: string; status: number; mode: string; message?: string } | undefined;
    /** Sees every call with its input (what IAM authorizes it against). */
    record?: (operation: string, input: unknown) => void;
  },
) => {
  const name = 'switchyardIoTracker';
  client.middlewareStack.remove(name);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      io.record?.(operation, args.input);
      const fault = io.fault?.(operation, args.input);
      if (fault?.mode === 'error')
        throw awsError(fault.error, fault.message ?? `injected fault on DynamoDB.${operation}`, fault.status);
      io.begin();
      let output: Awaited<ReturnType<typeof next>>;
      try {
        output = await io.serial(() => next(args));
      } finally {
        io.end();
      }
      const latency = io.latencyMs?.() ?? 0;
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
      if (fault?.mode === 'timeout') {
        // Lost: the client gives up at its request timeout (functions/shared/clients/http.ts).
        await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS));
        throw timeoutError(`DynamoDB.${operation}`, REQUEST_TIMEOUT_MS / 1000);
      }
      return output;
    },
    { step: 'deserialize', name, priority: 'high' },
  );
};
