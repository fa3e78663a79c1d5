/**
 * Snapshot retention against RDS's manual snapshot quota: Switchyard makes one snapshot per
 * release, so without retention the quota (100 per Region by default) ends every release of a
 * target with a database at BackupDatabase. Here the quota is lowered to 4 so a few releases reach it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotIdFor } from '../../functions/backup-database/run.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { LocalRuntime, writeTargetsFile } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';
import { fixtureTargets } from '../support/runtime.ts';

// checkout-api keeps one snapshot beyond those a rollback plan names (this release's, the last
// promoted one's).
const targets = JSON.parse(readFileSync(fixtureTargets, 'utf8'));
targets.targets[0].database.keepSnapshots = 1;
const targetsFile = writeTargetsFile(targets, 'targets-keep-one.json');

let rt: LocalRuntime;
beforeAll(async () => {
  rt = await LocalRuntime.start({ targetsFile }, async (r) => {
    const checkout = r.targets.targets[0];
    if (!checkout) throw new Error('no checkout-api');
    buildWorld(r.account, checkout, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
    await serveTestListener(r.account, checkout);
    r.account.rds.snapshotQuota = 4;
    // Someone else's manual snapshot of the same database: it counts against the quota and is never Switchyard's to delete.
    r.account.rds.CreateDBSnapshot({
      DBInstanceIdentifier: 'checkout-db',
      DBSnapshotIdentifier: 'nightly-export',
    });
  });
});
afterAll(() => rt?.dispose());

const releaseOf = async (tag: string) => {
  const digest = EcrModel.digestOf('checkout-api', tag);
  const execution = rt.executions().find((e) => JSON.parse(e.input).image.digest === digest);
  return execution && rt.release(execution.name);
};

describe('snapshot retention', () => {
  it('keeps releasing past the quota: deletes its oldest own snapshots, never one a rollback plan names or one it did not make', async () => {
    const ids: string[] = [];
    for (const tag of ['v2', 'v3', 'v4', 'v5']) {
      rt.push('checkout-api', tag);
      await rt.settle();
      const release = await releaseOf(tag);
      expect(release?.error, `${tag}: ${release?.error?.Cause}`).toBeUndefined();
      expect(release?.outcome).toBe('Promoted');
      ids.push(snapshotIdFor(release?.releaseId ?? ''));
    }
    const [s2, s3, s4, s5] = ids;
    // v4 kept its own (the restore point of rolling v4 back) and v3's (the last promoted before it).
    expect((await releaseOf('v4'))?.prunedSnapshots).toEqual([s2]);
    expect((await releaseOf('v5'))?.prunedSnapshots).toEqual([s3]);
    expect((await releaseOf('v3'))?.prunedSnapshots).toBeUndefined();
    expect([...rt.account.rds.snapshots.keys()].sort()).toEqual(['nightly-export', s4, s5].sort());
  });

  it('prunes after Promoted is recorded (housekeeping is not lead time) and before the lock is freed', async () => {
    const phases = (await releaseOf('v5'))?.phases ?? [];
    const at = (name: string, edge: 'startedAt' | 'endedAt') =>
      Date.parse(phases.find((p) => p.name === name)?.[edge] ?? 'NaN');
    expect(at('RecordOutcome', 'endedAt')).toBeLessThanOrEqual(at('PruneSnapshots', 'startedAt'));
    expect(at('PruneSnapshots', 'endedAt')).toBeLessThanOrEqual(at('ReleaseLock', 'startedAt'));
  });
});
