/**
 * How long each AWS call may go unanswered before the client gives up with `TimeoutError`, which
 * the SDK's standard retry tries again. Without it a lost answer is waited for as long as the
 * socket allows: @smithy/node-http-handler 4.x uses the client's default socket timeout (900 s in the
 * generated clients), longer than any function's timeout, so the step would hang until Lambda ended
 * it (`Lambda.Unknown`, retried twice, each attempt a cold start). `requestTimeout` alone only logs a
 * warning; `throwOnRequestTimeout` makes it an error. 10 s is far past an AWS control-plane call's
 * usual answer (tens to hundreds of ms) and short beside the 30-240 s function timeouts.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

/** The request handler options every client but EventBridge's is built with. */
export const requestHandler = {
  requestTimeout: REQUEST_TIMEOUT_MS,
  connectionTimeout: 3_000,
  throwOnRequestTimeout: true,
};

/** Publishing a release event must stay quick (events.ts bounds the whole publish at 3 s). */
export const EVENTS_REQUEST_TIMEOUT_MS = 1_500;

/** Each client's request timeout by its class name (the local runtime's lost answers wait this long). */
export const requestTimeoutOf = (clientName: string): number =>
  clientName === 'EventBridgeClient' ? EVENTS_REQUEST_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
