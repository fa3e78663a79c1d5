/**
 * Where the dashboard reads from and decides through: AWS with the CLI's credentials, or the local
 * state directory. Locally, another process (a `switchyard --local release`) saves the account
 * when it ends, so the dashboard opens the saved state read-only, again only when state.json has
 * changed, and never writes it.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { awsBackend, localBackend } from './backend.ts';
import { decideRelease } from './commands.ts';
import { type DashboardSource, dashboardState, quiet } from './dashboard.ts';

export const dashboardSource = async (
  globals: { local?: boolean; state: string; targets: string; as: string },
  say: (text: string) => void,
): Promise<DashboardSource> => {
  if (!globals.local) {
    const backend = awsBackend(globals.targets);
    return {
      read: () => dashboardState(backend),
      decide: (request) => decideRelease(backend, quiet, { ...request, by: globals.as }),
    };
  }
  let cached: { mtimeMs: number; state: unknown } | undefined;
  let reading: Promise<unknown> | undefined;
  const readLocal = async () => {
    // state.json, or the picture a command parked mid-run (a release waiting for approval) leaves.
    const mtimeMs = ['state.json', 'view.json']
      .map((f) => join(globals.state, f))
      .reduce((sum, f) => sum + (existsSync(f) ? statSync(f).mtimeMs : 0), 0);
    if (cached && cached.mtimeMs === mtimeMs) return cached.state;
    const backend = await localBackend(globals.targets, globals.state, say, { readOnly: true });
    try {
      const state = await dashboardState(backend);
      cached = { mtimeMs, state };
      return state;
    } finally {
      await backend.close();
    }
  };
  return {
    // One local runtime at a time in this process: concurrent polls share one read.
    read: () => {
      reading ??= readLocal().finally(() => {
        reading = undefined;
      });
      return reading;
    },
    decide: async (request) => {
      // Locally the waiting release lives in the process running it: decide through its page.
      const { decideLocally } = await import('./local-approval.ts');
      return decideLocally(globals.state, quiet, { ...request, by: globals.as });
    },
  };
};
