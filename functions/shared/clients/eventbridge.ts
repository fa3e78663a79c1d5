import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EVENTS_REQUEST_TIMEOUT_MS } from './http.ts';

/**
 * Publishing is a notification: it must stay quick. One retry after a timed-out or throttled call,
 * each try bounded (events.ts bounds the whole publish at 3 s).
 */
export const events = /* @__PURE__ */ new EventBridgeClient({
  maxAttempts: 2,
  requestHandler: {
    requestTimeout: EVENTS_REQUEST_TIMEOUT_MS,
    connectionTimeout: 1000,
    throwOnRequestTimeout: true,
  },
});
