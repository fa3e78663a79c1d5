/**
 * The soak of a Promoted release on a target others are promoted from. RecordOutcome starts it
 * (`soak` on the record); the reconciler judges it on its first tick after the soak ends, reading
 * only facts AWS and the records keep:
 * - the release was not rolled back, and no later release moved traffic before the soak ended;
 * - no watched alarm went to ALARM between the promotion and the soak's end (DescribeAlarmHistory,
 *   which keeps 30 days of history: CloudWatch API reference), and none is in ALARM since before it.
 * A rollback or a replacement fails the soak at once, on the next tick. The verdict is written
 * once (a conditional write) and announced as SoakCompleted or SoakFailed; a downstream target with
 * `automatic` promotion starts on SoakCompleted (promote function).
 */
import { alarmsDuring } from './alarms.ts';
import { When } from './analysis/config.ts';
import { analyse, describeFailures } from './analysis/index.ts';
import type { Target } from './config.ts';
import type { ReleaseDeps } from './deps.ts';
import { statePublisher } from './events.ts';
import { rollbackAgainst } from './history.ts';
import { logger } from './logger.ts';
import { type NotifyDeps, notify } from './notifications.ts';
import { downstreamsOf, MAX_SOAK_MINUTES, type Soak } from './promotion.ts';
import type { ReleaseRecord } from './store.ts';
import { Outcome, otherColour, ReleaseKind } from './vocabulary.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'cloudwatch' | 'now'> & NotifyDeps;

/** Why the soak failed, or undefined when it holds so far (the alarms are read at its end only). */
const interrupted = (record: ReleaseRecord, history: ReleaseRecord[], soak: Soak): string | undefined => {
  const back = rollbackAgainst(history, record);
  if (back)
    return `${back.outcome ? `rolled back by ${back.releaseId} (${back.outcome})` : `${back.releaseId} is rolling it back`}${back.reason ? `: ${back.reason}` : ''}`;
  // A later release that moved traffic before the soak ended: this image no longer had it all.
  const later = history.find(
    (r) =>
      (r.kind ?? ReleaseKind.Release) === ReleaseKind.Release &&
      r.releaseId !== record.releaseId &&
      r.createdAt > record.createdAt &&
      r.createdAt < soak.endsAt &&
      (r.outcome === Outcome.Promoted || (r.trafficPercent ?? 0) > 0),
  );
  if (later) return `${later.releaseId} moved traffic to another image before the soak ended`;
  return undefined;
};

/**
 * Judges every soak that is due on the targets others are promoted from; returns how many verdicts
 * it recorded. A target's trouble (a throttled read) is logged and left for the next tick.
 */
export const judgeSoaks = async (deps: Deps): Promise<number> => {
  const upstreams = deps.targets.targets.filter((t) => downstreamsOf(deps.targets, t.name).length > 0);
  let judged = 0;
  for (const target of upstreams) {
    try {
      // Every record since a release still soaking could have been created: an approval may wait
      // 7 days, the soak 7 more, and a verdict is re-sent for a day. A soaking release is never
      // pushed out of view by newer records that moved no traffic.
      const since = new Date(deps.now().getTime() - (2 * MAX_SOAK_MINUTES * 60_000 + REPUBLISH_FOR_MS));
      const history = await deps.store.releasesSince(target.name, since.toISOString());
      for (const record of history.filter(
        (r) => r.soak && r.soak.status !== 'soaking' && !r.soak.announcedAt,
      )) {
        judged += await republish(deps, target, record, record.soak as Soak);
      }
      for (const record of history.filter((r) => r.soak?.status === 'soaking')) {
        const soak = record.soak as Soak;
        const now = deps.now();
        let failure = interrupted(record, history, soak);
        if (!failure && now.toISOString() < soak.endsAt) continue;
        const alarms = failure
          ? []
          : await alarmsDuring(
              deps.cloudwatch,
              target.alarms,
              { from: soak.startedAt, to: soak.endsAt },
              'the soak',
            );
        if (alarms.length) failure = alarms.join('; ');
        // The target's analysis over the soak: its thresholds (the old colour serves nothing now).
        const analysis =
          failure || !target.analysis
            ? []
            : await analyse(
                target,
                deps.cloudwatch,
                { canary: record.toColour ?? 'green', baseline: otherColour(record.toColour ?? 'green') },
                { start: new Date(soak.startedAt), end: new Date(soak.endsAt) },
                { oldServes: false, when: When.Bakes },
              );
        if (analysis.some((r) => r.verdict === 'fail')) failure = describeFailures(analysis);
        // Too little data over the soak proves nothing: it fails the soak, unless the check only warns.
        const unproven = analysis.filter(
          (r) =>
            r.verdict === 'inconclusive' &&
            target.analysis?.checks.find((c) => c.name === r.check)?.inconclusive !== 'warn',
        );
        if (!failure && unproven.length > 0)
          failure = unproven
            .map((r) => `analysis check "${r.check}" was inconclusive over the soak: ${r.reason}`)
            .join('; ');
        const checked = `${soak.minutes} min live with no rollback and no other release${target.alarms.length ? `; alarms ${target.alarms.join(', ')} never in ALARM` : '; no alarms configured to watch'}${analysis.length ? `; analysis ${analysis.map((r) => `${r.check} ${r.verdict}`).join(', ')}` : ''}`;
        const verdict = {
          status: failure ? ('failed' as const) : ('completed' as const),
          judgedAt: now.toISOString(),
          detail: failure ?? checked,
        };
        if (!(await deps.store.settleSoak(record.releaseId, verdict))) continue;
        judged++;
        await announce(deps, target, record, { ...soak, ...verdict });
      }
    } catch (error) {
      logger.warn('could not judge soaks', { target: target.name, error: (error as Error).message });
    }
  }
  return judged;
};

/** How long a verdict the bus refused is offered again (a promotion waits on it). */
const REPUBLISH_FOR_MS = 24 * 3600_000;

/**
 * A verdict whose event PutEvents refused (throttled, failing) is sent again on each tick, to the bus
 * only (people were told already), so an automatic promotion is late, never lost. Returns 1 once sent.
 */
const republish = async (deps: Deps, target: Target, record: ReleaseRecord, soak: Soak): Promise<number> => {
  if (deps.now().getTime() - Date.parse(soak.judgedAt ?? soak.endsAt) > REPUBLISH_FOR_MS) return 0;
  const publish = statePublisher(
    deps,
    target,
    record.releaseId,
    stateOf(soak),
    soakDetail(deps, target, record, soak),
  );
  try {
    await publish?.();
  } catch (error) {
    logger.warn('soak verdict still not on the bus', {
      releaseId: record.releaseId,
      error: (error as Error).message,
    });
    return 0;
  }
  await deps.store.updateRelease(record.releaseId, {
    soak: { ...soak, announcedAt: deps.now().toISOString() },
  });
  logger.info('soak verdict sent again', { releaseId: record.releaseId, state: stateOf(soak) });
  return 1;
};

const stateOf = (soak: Soak) => (soak.status === 'completed' ? 'SoakCompleted' : 'SoakFailed');

const soakDetail = (deps: Deps, target: Target, record: ReleaseRecord, soak: Soak) => ({
  image: record.image,
  soak: { minutes: soak.minutes, startedAt: soak.startedAt, endsAt: soak.endsAt, detail: soak.detail },
  promotesTo: downstreamsOf(deps.targets, target.name).map((t) => t.name),
});

const announce = async (deps: Deps, target: Target, record: ReleaseRecord, soak: Soak) => {
  const ok = soak.status === 'completed';
  const state = stateOf(soak);
  const next = downstreamsOf(deps.targets, target.name);
  const image = record.image;
  logger.info('soak judged', { releaseId: record.releaseId, state, detail: soak.detail });
  const delivery = await notify(deps, target, {
    releaseId: record.releaseId,
    event: state,
    state: { name: state, detail: soakDetail(deps, target, record, soak) },
    subject: `[switchyard] ${target.name} (${target.environment}) ${image?.tag ?? ''}: soak ${ok ? 'completed' : 'failed'}`,
    lines: [
      `Release ${record.releaseId} (${image?.repository}:${image?.tag}, ${image?.digest}) soaked ${soak.minutes} min, ${soak.startedAt} → ${soak.endsAt}.`,
      ok ? `Soak completed: ${soak.detail}.` : `Soak failed: ${soak.detail}.`,
      ...next.map((t) =>
        ok
          ? `${t.name} (${t.environment}) may take this image${t.promotesFrom?.automatic ? ': its release starts now' : ` (switchyard release --target ${t.name} --tag ${image?.tag})`}.`
          : `${t.name} (${t.environment}) will refuse this image.`,
      ),
    ],
  });
  // The bus refused it: the next tick sends it again (republish); the people were told.
  if (delivery.failed.some((f) => f.channel === 'eventbridge')) return;
  await deps.store.updateRelease(record.releaseId, {
    soak: { ...soak, announcedAt: deps.now().toISOString() },
  });
};
