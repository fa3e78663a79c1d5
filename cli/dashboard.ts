/**
 * `switchyard dashboard [--local]`: a web page on localhost for the on-call engineer. It reads
 * with the CLI's own credentials (or the local state directory), through the same commands the
 * CLI has: no new internet-facing endpoint. The server listens on 127.0.0.1 only; deciding an
 * approval from the page needs a token that only the page served here carries (a custom header,
 * which no other site can send without a CORS preflight this server never answers).
 *
 * The page polls `/api/state`: each target's live colour, weights and versions, its last
 * releases with their phases (a timeline) and weights over time, and the approvals waiting.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { type AnalysisCheck, checksAt, When } from '../functions/shared/analysis/config.ts';
import { labelOf } from '../functions/shared/analysis/judge.ts';
import { readSeries, sourcesOf } from '../functions/shared/analysis/metrics.ts';
import type { Target } from '../functions/shared/config.ts';
import type { ReleaseRecord } from '../functions/shared/store.ts';
import { otherColour } from '../functions/shared/vocabulary.ts';
import { readBody } from '../local/approval-server.ts';
import type { Backend } from './backend.ts';
import { status } from './commands.ts';
import { dashboardPage, dashboardScript } from './dashboard-page.ts';
import { releaseJson } from './describe.ts';
import type { CommandResult } from './results.ts';

/** An Output that prints nothing: the page shows what the commands return. */
export const quiet = { line: () => {} };

/** Everything the page shows, read in one go. */
export const dashboardState = async (backend: Backend) => {
  const targets = (await status(backend, quiet, {})).json as Record<string, unknown>[];
  const releases = [];
  const waiting = [];
  for (const t of backend.targets.targets) {
    for (const [i, r] of (await backend.store.releasesForTarget(t.name, 10)).entries()) {
      const approval = r.approvalId ? await backend.approvals.get(r.approvalId) : undefined;
      releases.push({
        ...releaseJson(r, approval),
        // The target's newest release: its analysis checks over time, new colour against old.
        ...(i === 0 ? await seriesOf(backend, t, r) : {}),
      });
      if (approval?.status === 'PENDING' && !r.outcome) {
        waiting.push({
          releaseId: r.releaseId,
          target: r.target,
          environment: r.environment,
          tag: r.image?.tag ?? null,
          asked: approval.sentTo ? [...approval.sentTo].sort() : [],
          approvedBy: approval.approvedBy ? [...approval.approvedBy] : [],
          twoPerson: approval.twoPerson,
          deadline: new Date(approval.deadline * 1000).toISOString(),
        });
      }
    }
  }
  releases.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  return { at: backend.now().toISOString(), kind: backend.kind, targets, releases, waiting };
};

/** Series are drawn for a release running or ended within this long (its bakes are still news). */
const SERIES_FOR_MS = 3 * 3600_000;
/** Per release: the series as last read, and the minute they were read for (metrics are per minute). */
const seriesCache = new Map<string, { minute: number; value: Record<string, unknown> }>();

/**
 * The release's bake checks over its life so far: one GetMetricData (with the CLI's credentials, or
 * the local account's model), read again at most once a minute while it runs and once after it ended.
 */
const seriesOf = async (
  backend: Backend,
  target: Target,
  r: ReleaseRecord,
): Promise<Record<string, unknown>> => {
  const checks = checksAt(target.analysis, When.Bakes);
  const now = backend.now().getTime();
  const end = r.endedAt ? Date.parse(r.endedAt) : now;
  if (!target.analysis || checks.length === 0 || !r.toColour || now - end > SERIES_FOR_MS) return {};
  // Read again each minute, and for 3 minutes after the end: CloudWatch has a minute 1-2 min late.
  const minute = Math.floor(Math.min(now, end + 180_000) / 60_000);
  const cached = seriesCache.get(r.releaseId);
  if (cached && cached.minute === minute) return cached.value;
  let value: Record<string, unknown>;
  try {
    const series = await readSeries(
      backend.clients.cloudwatch,
      { ...target.analysis, checks },
      sourcesOf(target),
      { canary: r.toColour, baseline: otherColour(r.toColour) },
      { start: new Date(Math.max(Date.parse(r.createdAt), end - SERIES_FOR_MS)), end: new Date(end) },
    );
    value = {
      series: series.map((s, i) => {
        const check = checks[i] as AnalysisCheck;
        return { ...s, ...labelOf(check), max: check.max ?? null, min: check.min ?? null };
      }),
    };
  } catch (error) {
    // Shown on the page (e.g. no cloudwatch:GetMetricData for the CLI's identity); the rest still works.
    value = { seriesError: (error as Error).message };
  }
  seriesCache.set(r.releaseId, { minute, value });
  return value;
};

export interface DashboardSource {
  /** The state, read afresh (or from a cache the source keeps honest). */
  read(): Promise<unknown>;
  /** Approves or rejects as the dashboard's user (the CLI's identity). */
  decide(request: {
    releaseId: string;
    action: 'approve' | 'reject';
    reason?: string;
  }): Promise<CommandResult>;
}

let chartSource: string | undefined;
const chartJs = () =>
  (chartSource ??= readFileSync(
    join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'),
    'utf8',
  ));

/** Serves the dashboard on 127.0.0.1 (port 0: any free one). */
export const startDashboard = async (source: DashboardSource, options: { port?: number; title: string }) => {
  const token = randomBytes(18).toString('base64url');
  const headers = {
    'cache-control': 'no-store',
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
  const send = (res: ServerResponse, code: number, type: string, body: string) =>
    res.writeHead(code, { ...headers, 'content-type': type }).end(body);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    try {
      if (req.method === 'GET' && url.pathname === '/')
        return send(res, 200, 'text/html; charset=utf-8', dashboardPage(options.title, token));
      if (req.method === 'GET' && url.pathname === '/app.js')
        return send(res, 200, 'text/javascript; charset=utf-8', dashboardScript);
      if (req.method === 'GET' && url.pathname === '/chart.js')
        return send(res, 200, 'text/javascript; charset=utf-8', chartJs());
      if (req.method === 'GET' && url.pathname === '/api/state')
        return send(res, 200, 'application/json', JSON.stringify(await source.read()));
      if (req.method === 'POST' && url.pathname === '/api/decide') {
        if (req.headers['x-switchyard-token'] !== token) {
          return send(
            res,
            403,
            'application/json',
            JSON.stringify({ error: 'only the dashboard page may decide' }),
          );
        }
        const { releaseId, action, reason } = JSON.parse(await readBody(req, 16 * 1024)) as Record<
          string,
          unknown
        >;
        if (typeof releaseId !== 'string' || (action !== 'approve' && action !== 'reject')) {
          return send(
            res,
            400,
            'application/json',
            JSON.stringify({ error: 'releaseId and action (approve|reject) are needed' }),
          );
        }
        const result = await source.decide({
          releaseId,
          action,
          reason: typeof reason === 'string' && reason.trim() ? reason.trim() : undefined,
        });
        return send(res, result.exitCode === 0 ? 200 : 409, 'application/json', JSON.stringify(result.json));
      }
      return send(res, 404, 'text/plain', 'not found');
    } catch (error) {
      const name = (error as Error).name;
      return send(
        res,
        name === 'UsageError' || name === 'InvalidInput' ? 400 : 500,
        'application/json',
        JSON.stringify({ error: (error as Error).message }),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
};
