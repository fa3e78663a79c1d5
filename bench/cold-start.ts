/**
 * Cold-start proxy: each function bundled as deployed, then imported in a fresh Node 22 process
 * (module initialisation: its imports, the AWS SDK clients it loads from the runtime's copy, config
 * parsing), several times; median, min and max in ms, with the bundle size.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFunction } from '../infra/bundling.ts';
import { allFunctionFolders } from '../state-machines/definitions.ts';

export interface ColdStart {
  folder: string;
  bundleKb: number;
  initMs: { median: number; min: number; max: number };
}

const root = fileURLToPath(new URL('../', import.meta.url));

export const measureColdStarts = async (runs = 5): Promise<ColdStart[]> => {
  // Inside the project, so the bundles resolve @aws-sdk/* from node_modules as Lambda's runtime would.
  const out = join(root, 'node_modules', '.cache', 'switchyard-cold-start');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    SWITCHYARD_TARGETS_FILE: join(root, 'local', 'targets.json'),
    LOCKS_TABLE: 'locks',
    RELEASES_TABLE: 'releases',
    WAITS_TABLE: 'waits',
    APPROVALS_TABLE: 'approvals',
    RELEASE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release',
    APPROVAL_KEY_SECRET: 'switchyard/approval-signing-key',
    APPROVAL_BASE_URL: 'https://example.invalid',
    SLACK_SIGNING_SECRET_SECRET: 'switchyard/slack-signing-secret',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  const results: ColdStart[] = [];
  for (const folder of allFunctionFolders()) {
    const file = join(out, folder, 'index.mjs');
    await bundleFunction(folder, file);
    const times = Array.from({ length: runs }, () =>
      Number(
        execFileSync(process.execPath, [join(root, 'bench', 'measure-init.mjs'), file], { env }).toString(),
      ),
    ).sort((a, b) => a - b);
    results.push({
      folder,
      bundleKb: Math.round((statSync(file).size / 1024) * 10) / 10,
      initMs: {
        median: Math.round((times[Math.floor(times.length / 2)] as number) * 10) / 10,
        min: Math.round((times[0] as number) * 10) / 10,
        max: Math.round((times.at(-1) as number) * 10) / 10,
      },
    });
  }
  rmSync(out, { recursive: true, force: true });
  return results;
};
