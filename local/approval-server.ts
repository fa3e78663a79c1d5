/**
 * The approval API on loopback: what the stack's REST API routes to the `approvals` and
 * `slack-interactions` functions in AWS, served here over real HTTP (a browser can use it), at the
 * same paths under the stage (`/live/approvals/{id}`). Each request passes the modelled front
 * (local/api-front.ts: WAF's per-client rules, API Gateway's routes and method throttles), keyed
 * on the connection's real source address, then becomes a Lambda proxy event (payload 1.0) for
 * the same handler.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APPROVAL_API_STAGE } from '../infra/approval-api-limits.ts';
import type { FunctionFolder } from '../state-machines/definitions.ts';
import type { ApiFront } from './api-front.ts';
import { isLambdaThrottle } from './execution-environments.ts';

export interface Invoker {
  /** Runs a function for an outside request, moving virtual time as it needs. */
  serve(folder: FunctionFolder, event: unknown): Promise<unknown>;
  /** The account's WAF and API Gateway in front of the functions. */
  readonly apiFront: ApiFront;
}

let requests = 0;

/** A request body over the server's limit. */
export class TooLarge extends Error {}

/** A request's body as text, refused (TooLarge) past `limit` characters. */
export const readBody = (req: IncomingMessage, limit = 64 * 1024) =>
  new Promise<string>((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) reject(new TooLarge('request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

/** Starts the server on an OS-chosen loopback port; it does not keep the process alive. */
export const startApprovalServer = async (invoker: () => Invoker | undefined) => {
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = invoker();
    const stagePrefix = `/${APPROVAL_API_STAGE}`;
    if (!target) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no local runtime is running');
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.startsWith(`${stagePrefix}/`) ? url.pathname.slice(stagePrefix.length) : '';
    const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const front = target.apiFront.admit({ method, uriPath: url.pathname, path, sourceIp, now: Date.now() });
    if (front.kind === 'answer') {
      req.resume();
      res.writeHead(front.status, { 'content-type': front.contentType }).end(front.body);
      return;
    }
    try {
      const body = await readBody(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const multi = new Map<string, string[]>();
      for (const [name, value] of url.searchParams) multi.set(name, [...(multi.get(name) ?? []), value]);
      const event = {
        resource: front.route.resource,
        path,
        httpMethod: method,
        headers,
        multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
        queryStringParameters: multi.size
          ? Object.fromEntries([...multi].map(([k, v]) => [k, v.at(-1)]))
          : null,
        multiValueQueryStringParameters: multi.size ? Object.fromEntries(multi) : null,
        pathParameters: front.route.pathParameters,
        stageVariables: null,
        requestContext: {
          resourcePath: front.route.resource,
          httpMethod: method,
          path: url.pathname,
          stage: APPROVAL_API_STAGE,
          requestId: `local-${++requests}`,
          identity: { sourceIp },
        },
        body: body === '' ? null : body,
        isBase64Encoded: false,
      };
      const result = (await target.serve(front.route.folder, event)) as {
        statusCode?: number;
        headers?: Record<string, string>;
        body?: string;
      };
      res.writeHead(result.statusCode ?? 200, result.headers ?? {}).end(result.body ?? '');
    } catch (error) {
      if (error instanceof TooLarge) {
        res
          .writeHead(413, { 'content-type': 'text/plain', connection: 'close' })
          .end('request body too large');
        return;
      }
      // A crashed or timed-out function: API Gateway answers 502 (and 503 on its own timeout); the
      // person sees an error page, whatever the function did before it died.
      if ((error as Error).name === 'Lambda.Unknown') {
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
        return;
      }
      // Lambda throttled the invocation (the account's concurrency): the proxy integration never got
      // an answer, and API Gateway answers 500 (repost.aws knowledge-center/api-gateway-internal-server-error).
      if (isLambdaThrottle(error)) {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"message": "Internal server error"}');
        return;
      }
      res
        .writeHead(500, { 'content-type': 'text/plain' })
        .end(`local approval server: ${(error as Error).message}`);
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  // The stage is part of every URL, as in AWS (the stack's SWITCHYARD_APPROVAL_API ends with it).
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${APPROVAL_API_STAGE}`, server };
};
