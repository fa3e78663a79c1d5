import type { ReleaseDeps } from './deps.ts';
import type { HookResult } from './store.ts';

/** Adds the result to the release record (hooks run one at a time, so nothing else writes `hooks`). */
export const recordHook = async (releaseId: string, result: HookResult, deps: Pick<ReleaseDeps, 'store'>) => {
  const release = await deps.store.getRelease(releaseId);
  const others = (release?.hooks ?? []).filter((h) => !(h.name === result.name && h.point === result.point));
  await deps.store.updateRelease(releaseId, {
    hooks: [...others, result],
    // Once a migration has run, the old version lives with the new schema (or cannot); a breaking
    // one is never downgraded by a later expand one (run-hook sets it as the migration starts).
    ...(result.migration && release?.migrated !== 'breaking' ? { migrated: result.migration } : {}),
  });
};
