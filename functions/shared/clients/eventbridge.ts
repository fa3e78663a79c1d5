import { EventBridgeClient } from '@aws-sdk/client-eventbridge';

/**
 * Publishing is a notification: it must stay quick. One retry after a timed-out or throttled call,
 * each try bounded (events.ts bounds the whole publish at 3 s).
 */
export const events = /* @__PURE__ */ new EventBridgeClient({
  maxAttempts: 2,
  requestHandler: { requestTimeout: 1500, connectionTimeout: 1000 },
});
