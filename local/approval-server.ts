/**
 * The approval API on loopback: what API Gateway routes to the `approvals` and
 * `slack-interactions` functions in AWS, served here over real HTTP (a browser can use it). Each
 * request becomes an API Gateway HTTP API (payload 2.0) event for the same handler.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionFolder } from '../state-machines/definitions.ts';

export interface Invoker {
  /** Runs a function for an outside request, moving virtual time as it needs. */
  serve(folder: FunctionFolder, event: unknown): Promise<unknown>;
}

const routeOf = (path: string): FunctionFolder | undefined =>
  path.startsWith('/approvals/')
    ? 'approvals'
    : path === '/slack/interactions'
      ? 'slack-interactions'
      : undefined;

class TooLarge extends Error {}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 64 * 1024) reject(new TooLarge());
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

/** Starts the server on an OS-chosen loopback port; it does not keep the process alive. */
export const startApprovalServer = async (invoker: () => Invoker | undefined) => {
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const folder = routeOf(url.pathname);
    const target = invoker();
    if (!folder || !target) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    try {
      const body = await readBody(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const event = {
        version: '2.0',
        routeKey: `${req.method} ${url.pathname}`,
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        requestContext: { http: { method: req.method ?? 'GET', path: url.pathname, sourceIp: '127.0.0.1' } },
        body,
        isBase64Encoded: false,
      };
      const result = (await target.serve(folder, event)) as {
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
      res
        .writeHead(500, { 'content-type': 'text/plain' })
        .end(`local approval server: ${(error as Error).message}`);
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
};
