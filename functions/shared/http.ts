/**
 * A request as the approval handlers read it: path, query string, headers, body. API Gateway REST
 * APIs deliver the Lambda proxy event (`RestEvent`); `fromRestEvent` reads it as this.
 */
export interface HttpEvent {
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string } };
}

/** API Gateway REST API's Lambda proxy integration event (payload 1.0), the fields the handlers use. */
export interface RestEvent {
  httpMethod: string;
  /** The resource path as requested, without the stage (e.g. `/approvals/abc`). */
  path: string;
  headers?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** The proxy event as an `HttpEvent`; the query string is rebuilt from its decoded parameters. */
export const fromRestEvent = (event: RestEvent): HttpEvent => ({
  rawPath: event.path,
  rawQueryString: new URLSearchParams(
    Object.entries(event.multiValueQueryStringParameters ?? {}).flatMap(([name, values]) =>
      (values ?? []).map((value): [string, string] => [name, value]),
    ),
  ).toString(),
  headers: { ...(event.headers ?? {}) },
  body: event.body ?? undefined,
  isBase64Encoded: event.isBase64Encoded ?? false,
  requestContext: { http: { method: event.httpMethod } },
});

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Posts JSON; a receiver that hangs is cut off after `timeoutMs`. */
export const post = async (url: string, body: unknown, timeoutMs = 3000) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    // A receiver that hangs must not hold a release step or an interaction.
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
};
