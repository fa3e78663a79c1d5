/**
 * What stands in front of the approval functions in AWS, modelled for the loopback approval
 * server: the AWS WAF web ACL with its per-client rate-based rules, then the API Gateway REST API
 * (its routes, and the throttle of each method). The limits are the stack's own
 * (infra/approval-api-limits.ts).
 *
 * WAF: a rate-based rule counts each source IP's requests in its evaluation window and blocks an
 * IP whose count is over the limit. AWS checks the counts "frequently, with timing independent of
 * the evaluation window" and does not guarantee an exact limit
 * (docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html,
 * read 2026-12-02); its earlier documentation said every 30 seconds, and its caveats page says a
 * rate over the limit can get through "usually below 30 seconds", at worst for several minutes.
 * Here the check runs every 30 virtual seconds: the usual case, not the worst, so a test of the
 * flood shows what AWS usually does (README says so). Blocked requests are still counted, so a
 * client that keeps flooding stays blocked.
 *
 * API Gateway: a path no resource matches is answered 403 `Missing Authentication Token`, as a REST
 * API answers it; each method has its own token bucket (rate per second, burst), shared by all
 * clients, and an empty bucket answers 429 `Too Many Requests`
 * (docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
 */
import {
  BLOCKED_RESPONSE,
  METHOD_THROTTLE,
  PER_CLIENT_LIMITS,
  type PerClientLimit,
} from '../infra/approval-api-limits.ts';
import type { FunctionFolder } from '../state-machines/definitions.ts';

/** How often WAF re-evaluates its rate-based rules (virtual ms). See above. */
const WAF_CHECK_INTERVAL_MS = 30_000;

export interface Route {
  /** The REST API resource, e.g. `/approvals/{id}`. */
  resource: string;
  folder: FunctionFolder;
  pathParameters: Record<string, string> | null;
}

export type FrontAnswer =
  | { kind: 'pass'; route: Route }
  | { kind: 'answer'; status: number; contentType: string; body: string; by: 'waf' | 'api-gateway' };

/** The routes of the stack's REST API (infra/constructs/approval-api.ts), by method and path. */
export const routeOf = (method: string, path: string): Route | undefined => {
  const approval = path.match(/^\/approvals\/([^/]+)$/);
  if (approval && (method === 'GET' || method === 'POST')) {
    return {
      resource: '/approvals/{id}',
      folder: 'approvals',
      pathParameters: { id: decodeURIComponent(approval[1] as string) },
    };
  }
  if (path === '/slack/interactions' && method === 'POST') {
    return { resource: '/slack/interactions', folder: 'slack-interactions', pathParameters: null };
  }
  return undefined;
};

class RateBasedRule {
  private readonly seen = new Map<string, number[]>();
  private blocked = new Set<string>();
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(readonly limit: PerClientLimit) {}

  matches(uriPath: string) {
    return uriPath.includes(this.limit.pathContains);
  }

  /** Counts the request; true when its IP is blocked as of WAF's last check. */
  countAndCheck(ip: string, now: number): boolean {
    const dueAt = Math.floor(now / WAF_CHECK_INTERVAL_MS) * WAF_CHECK_INTERVAL_MS;
    if (dueAt > this.checkedAt) this.evaluate(dueAt);
    const times = this.seen.get(ip) ?? [];
    times.push(now);
    this.seen.set(ip, times);
    return this.blocked.has(ip);
  }

  private evaluate(at: number) {
    const from = at - this.limit.windowSeconds * 1000;
    this.blocked = new Set();
    for (const [ip, times] of this.seen) {
      // Every request counted so far came before `at` (a later one would have run this check).
      const recent = times.filter((t) => t > from);
      if (recent.length === 0) this.seen.delete(ip);
      else this.seen.set(ip, recent);
      if (recent.length > this.limit.limit) this.blocked.add(ip);
    }
    this.checkedAt = at;
  }
}

class TokenBucket {
  private tokens: number = METHOD_THROTTLE.burst;
  private at: number | undefined;

  take(now: number): boolean {
    if (this.at !== undefined) {
      this.tokens = Math.min(
        METHOD_THROTTLE.burst,
        this.tokens + ((now - this.at) / 1000) * METHOD_THROTTLE.rate,
      );
    }
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One account's approval API front: WAF, then API Gateway's routes and method throttles. */
export class ApiFront {
  private readonly rules = PER_CLIENT_LIMITS.map((limit) => new RateBasedRule(limit));
  private readonly buckets = new Map<string, TokenBucket>();
  /** Answers given by the front itself, by who gave them (`waf 429`, `api-gateway 429`, …). */
  readonly answered = new Map<string, number>();

  /** What happens to a request before any function runs. `uriPath` includes the stage. */
  admit(request: {
    method: string;
    uriPath: string;
    path: string;
    sourceIp: string;
    now: number;
  }): FrontAnswer {
    const answer = (
      by: 'waf' | 'api-gateway',
      status: number,
      contentType: string,
      body: string,
    ): FrontAnswer => {
      this.answered.set(`${by} ${status}`, (this.answered.get(`${by} ${status}`) ?? 0) + 1);
      return { kind: 'answer', status, contentType, body, by };
    };
    // Every rule counts the request, whichever blocks it (WAF evaluates rules in priority order).
    const blocked = this.rules
      .filter((rule) => rule.matches(request.uriPath))
      .map((rule) => rule.countAndCheck(request.sourceIp, request.now))
      .some(Boolean);
    if (blocked) return answer('waf', BLOCKED_RESPONSE.status, 'text/plain', BLOCKED_RESPONSE.body);
    const route = routeOf(request.method, request.path);
    if (!route)
      return answer('api-gateway', 403, 'application/json', '{"message":"Missing Authentication Token"}');
    const key = `${request.method} ${route.resource}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket();
      this.buckets.set(key, bucket);
    }
    if (!bucket.take(request.now))
      return answer('api-gateway', 429, 'application/json', '{"message":"Too Many Requests"}');
    return { kind: 'pass', route };
  }
}
