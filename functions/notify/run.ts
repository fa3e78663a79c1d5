import { analysisLines } from '../shared/analysis/text.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { notify } from '../shared/notifications.ts';
import type { ReleaseRecord } from '../shared/store.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'sns' | 'secrets' | 'now' | 'events' | 'eventBus'>;

/** Subject and body of the outcome message; the body says what a person needs to act. */
export const outcomeMessage = (input: Input, release: ReleaseRecord | undefined, environment: string) => {
  const image = release?.image ?? input.image;
  const rollback = release?.kind === 'rollback';
  const what = rollback ? 'rollback' : (image?.tag ?? '?');
  const subject = `[switchyard] ${input.target} (${environment}) ${what}: ${input.outcome}`;
  const lines = [
    `${rollback ? 'Rollback' : 'Release'} ${input.releaseId} of ${input.target} (${environment}) ended ${input.outcome}.`,
  ];
  if (image) lines.push(`Image: ${image.repository}:${image.tag} ${image.digest}`);
  if (rollback) {
    lines.push(`Rolled back: ${release?.rollbackOf ?? 'nothing'} (${release?.rollbackPath ?? 'no'} path)`);
    if (release?.reason) lines.push(`Reason given: ${release.reason}`);
    // Members it left as they were: what is left for a person (plan-rollback/group.ts).
    if (release?.alreadyBack?.length)
      lines.push(`Group members already back, left as they are: ${release.alreadyBack.join(', ')}`);
  }
  if (input.plan) lines.push(`Colours: ${input.plan.fromColour} -> ${input.plan.toColour}`);
  if (release?.snapshotId)
    lines.push(`Database snapshot: ${release.snapshotId} (kept; restore is never automatic)`);
  const error = input.error ?? input.rollbackError;
  if (error) lines.push(`Reason: ${error.Error}: ${error.Cause ?? ''}`);
  // Why traffic was not put back (or putting it back failed), besides why the release stopped.
  if (input.error && input.rollbackError)
    lines.push(`Rollback: ${input.rollbackError.Error}: ${input.rollbackError.Cause ?? ''}`);
  for (const hook of release?.hooks ?? []) {
    lines.push(
      `Hook ${hook.name} (${hook.point}): ${hook.detail}${hook.logUrl ? ` Log: ${hook.logUrl}` : ''}`,
    );
  }
  for (const bake of release?.analysis ?? []) lines.push(...analysisLines(bake));
  if (release?.trigger)
    lines.push(
      `Triggered by: ${release.trigger.source}${release.trigger.by ? ` (${release.trigger.by})` : ''}`,
    );
  return { subject: subject.slice(0, 99), body: lines.join('\n') };
};

/** What an outcome event carries besides its state: the image, the colours, why it stopped. */
export const outcomeDetail = (
  release: ReleaseRecord | undefined,
  error: { Error: string; Cause?: string } | undefined,
) => ({
  kind: release?.kind ?? 'release',
  ...(release?.image ? { image: release.image } : {}),
  ...(release?.fromColour && release.toColour
    ? { fromColour: release.fromColour, toColour: release.toColour }
    : {}),
  ...(release?.rollbackOf ? { rollbackOf: release.rollbackOf } : {}),
  ...(error ? { error: { name: error.Error, cause: (error.Cause ?? '').slice(0, 1000) } } : {}),
});

/** Sends the outcome on every channel of the target; a channel that fails is counted, not thrown. */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const release = await deps.store.getRelease(input.releaseId);
  const { subject, body } = outcomeMessage(input, release, target.environment);
  const delivery = await notify(deps, target, {
    releaseId: input.releaseId,
    event: input.outcome,
    subject,
    lines: body.split('\n'),
    state: { name: input.outcome, detail: outcomeDetail(release, input.error ?? input.rollbackError) },
  });
  // The recovery of an execution that ends right after this does not announce it again.
  // (Best effort: a release that ended before its record existed has none to mark.)
  // What was sent is kept with it: `switchyard describe` shows the text, not only that it went.
  if (release)
    await deps.store.updateRelease(input.releaseId, {
      announcedAt: deps.now().toISOString(),
      notice: {
        subject,
        text: body.slice(0, 4000),
        delivered: delivery.delivered,
        failed: delivery.failed.map((f) => `${f.channel} (${f.error})`),
      },
    });
  return {
    ...delivery,
    summary: `"${subject}" sent on ${delivery.delivered.join(', ') || 'no channel'}${
      delivery.failed.length
        ? `; failed: ${delivery.failed.map((f) => `${f.channel} (${f.error})`).join(', ')}`
        : ''
    }`,
  };
};
