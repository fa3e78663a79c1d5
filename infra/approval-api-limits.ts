/**
 * The approval API's limits, read by the stack (API Gateway and AWS WAF settings) and by the local
 * runtime's model of that front (local/api-front.ts), so the two cannot drift.
 *
 * Why a firewall: the approval API is on the internet without an authorizer (each request proves
 * itself by a link or Slack signature, inside the function). API Gateway's own throttle is shared
 * by every caller of a method, so one client sending fast enough leaves approvers and Slack only
 * 429s. AWS WAF counts each client on its own and blocks the one over its limit before API
 * Gateway counts it; HTTP APIs cannot carry a web ACL, so the approval API is a REST API.
 */

/** The stage name: it is the first segment of every URL (`https://…/live/approvals/…`). */
export const APPROVAL_API_STAGE = 'live';

/**
 * API Gateway throttling of each method (REST API: "per-API, per-stage throttling limits are applied
 * at the API method level", docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html):
 * a token bucket of `burst` tokens refilled at `rate` per second, per method, shared by all clients.
 */
export const METHOD_THROTTLE = { rate: 10, burst: 20 } as const;

export interface PerClientLimit {
  /** The WAF rule's name. */
  name: string;
  /** Requests whose URI path contains this are counted by the rule (its scope-down statement). */
  pathContains: string;
  /** Most requests one source IP may make in `windowSeconds` (WAF allows 10 and up). */
  limit: number;
  /** WAF's evaluation window: 60, 120, 300 or 600 seconds. */
  windowSeconds: 60 | 120 | 300 | 600;
}

/**
 * AWS WAF rate-based rules, one per route, aggregated by source IP
 * (docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html,
 * read 2026-12-02). A person deciding makes two requests (the page, then the button); 100 in
 * 5 minutes leaves room for an office of approvers behind one address. Slack sends every click of
 * every workspace user from its own addresses, hence the higher limit there.
 */
export const PER_CLIENT_LIMITS: readonly PerClientLimit[] = [
  { name: 'PerClientApprovalPages', pathContains: '/approvals/', limit: 100, windowSeconds: 300 },
  { name: 'PerClientSlack', pathContains: '/slack/interactions', limit: 1000, windowSeconds: 300 },
];

/** What a blocked client is answered (a WAF custom response): 429 and what to do. */
export const BLOCKED_RESPONSE = {
  status: 429,
  body: 'Too many requests from your address. Wait five minutes, then open the link again.',
} as const;
