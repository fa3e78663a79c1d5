/**
 * vitest global setup: every local runtime in the run (end-to-end, demo, fault matrix, CLI) records
 * what AWS would authorize for each call its functions make; after the run, each call is evaluated
 * against the calling function's role in the stack synthesized from the same targets file, and the
 * requests AWS services make for the stack (alarm notifications, dead letters) are evaluated too.
 *
 * A call the role would not allow fails the run, naming the function, action, resource and grant.
 * On the full run (`npm test` sets SWITCHYARD_IAM_FULL_RUN), a granted action that no call used
 * fails it too, unless `acknowledgedGrants` gives the reason. Prints
 * `iam: N calls checked, N allowed; N grants, N used`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedAuthorization } from '../../local/iam/recorder.ts';
import { acknowledgedGrants } from './iam-acknowledged.ts';
import {
  checkCalls,
  checkDeliveries,
  type Denial,
  describeDenial,
  policiesOf,
  synthStack,
} from './iam-check.ts';

let dir = '';

export function setup() {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-iam-'));
  // Inherited by the test workers and by the CLI processes the tests start.
  process.env.SWITCHYARD_IAM_RECORD_DIR = dir;
}

export async function teardown() {
  try {
    const byTargets = new Map<string, Map<string, RecordedAuthorization>>();
    for (const file of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean)) {
        const { targets, entries } = JSON.parse(line) as {
          targets: string;
          entries: RecordedAuthorization[];
        };
        // The same authorization, recorded by many runtimes, is evaluated once with its calls summed.
        const merged = byTargets.get(targets) ?? new Map<string, RecordedAuthorization>();
        for (const e of entries) {
          const key = `${e.by}|${e.action}|${e.resource}|${JSON.stringify(e.context ?? {})}|${e.problem ?? ''}`;
          const seen = merged.get(key);
          if (seen) seen.calls += e.calls;
          else merged.set(key, { ...e });
        }
        byTargets.set(targets, merged);
      }
    }
    const fullRun = !!process.env.SWITCHYARD_IAM_FULL_RUN;
    // The full run records thousands of calls: none means the recording broke, not that all is well.
    if (byTargets.size === 0) {
      if (fullRun)
        throw new Error(
          'IAM check: no local run recorded a call (is SWITCHYARD_IAM_RECORD_DIR reaching the runtimes?)',
        );
      return;
    }
    let calls = 0;
    let refused = 0;
    let allowed = 0;
    const denials: Denial[] = [];
    const grants = new Map<string, boolean>();
    let n = 0;
    for (const [targets, byKey] of byTargets) {
      const records = [...byKey.values()];
      const file = join(dir, `targets-${n++}.json`);
      writeFileSync(file, targets);
      let policies: ReturnType<typeof policiesOf>;
      try {
        policies = policiesOf(synthStack(file));
      } catch {
        // A targets file the stack refuses (the bad-input tests) deploys nothing to check against.
        refused += records.reduce((sum, r) => sum + r.calls, 0);
        continue;
      }
      const report = await checkCalls(policies, records);
      calls += report.calls;
      allowed += report.allowed;
      const byServices = new Set<string>();
      denials.push(...report.denials, ...(await checkDeliveries(policies, byServices)));
      for (const g of report.grants) {
        const key = `${g.by} ${g.action}`;
        grants.set(key, (grants.get(key) ?? false) || g.used || byServices.has(key));
      }
    }
    const used = [...grants.values()].filter(Boolean).length;
    process.stdout.write(
      `\niam: ${calls} calls checked, ${allowed} allowed; ${grants.size} grants, ${used} used` +
        (refused ? ` (${refused} calls of runs whose targets file the stack refuses, not checked)` : '') +
        '\n',
    );
    const unique = [...new Map(denials.map((d) => [`${d.by} ${d.action} ${d.resource}`, d])).values()];
    const unused = [...grants].filter(([key, u]) => !u && !acknowledgedGrants[key]).map(([key]) => key);
    const problems = [
      ...unique.map((d) => `denied: ${describeDenial(d)}`),
      ...(fullRun
        ? unused.map(
            (g) => `granted but never used (remove it, or say why in test/support/iam-acknowledged.ts): ${g}`,
          )
        : []),
    ];
    if (problems.length > 0) {
      throw new Error(`IAM check: ${problems.length} problem(s)\n${problems.join('\n')}`);
    }
  } finally {
    // SWITCHYARD_IAM_KEEP=1 keeps the records for a look at who called what.
    if (process.env.SWITCHYARD_IAM_KEEP) process.stdout.write(`iam records kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
