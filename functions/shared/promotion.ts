/**
 * Promotion across environments. A target may name the target it is promoted from
 * (`promotesFrom.target`): an image digest may go there only after it ended `Promoted` upstream and
 * then soaked `soakMinutes` with no watched alarm going to ALARM, no rollback and no other release
 * moving traffic. The upstream release's soak is judged by the reconciler when it ends (soak.ts);
 * the gate (Validate) reads that verdict from the upstream record, so the evidence travels with the
 * digest: the downstream record, its Started event and its approval request carry it.
 */
import * as z from 'zod';
import { formatValue } from './analysis/judge.ts';
import type { Target, TargetsFile } from './config.ts';
import { rollbackAgainst } from './history.ts';
import type { ReleaseRecord, Store } from './store.ts';
import { Outcome, ReleaseKind } from './vocabulary.ts';

/** A soak longer than a week is a release train, not a soak: ask for a manual release instead. */
export const MAX_SOAK_MINUTES = 7 * 24 * 60;

export const promotesFromSchema = z.strictObject({
  /** The target this one is promoted from: the same digest must have ended Promoted there. */
  target: z.string().min(1),
  /** Minutes the upstream release must have stayed live after Promoted, with no alarm and no rollback. */
  soakMinutes: z
    .number()
    .int('must be a whole number of minutes')
    .min(1, 'must be at least 1 minute (a soak of 0 proves nothing)')
    .max(MAX_SOAK_MINUTES, `must be at most ${MAX_SOAK_MINUTES} (7 days)`)
    .default(60),
  /** When the upstream soak completes, this target's release starts by itself (approval still applies). */
  automatic: z.boolean().default(false),
});
export type PromotesFrom = z.infer<typeof promotesFromSchema>;

/** Targets promoted from `upstream`. */
export const downstreamsOf = (targets: TargetsFile, upstream: string): Target[] =>
  targets.targets.filter((t) => t.promotesFrom?.target === upstream);

/**
 * How long a release of `upstream` soaks: the longest soak any target promoted from it asks for
 * (undefined when none is): one soak and one verdict serve every downstream.
 */
export const soakMinutesOf = (targets: TargetsFile, upstream: string): number | undefined => {
  const minutes = downstreamsOf(targets, upstream).map((t) => t.promotesFrom?.soakMinutes ?? 0);
  return minutes.length ? Math.max(...minutes) : undefined;
};

/** The soak a release Promoted now begins, or undefined when no target is promoted from its target. */
export const soakFor = (deps: { targets: TargetsFile }, target: string, at: Date): Soak | undefined => {
  const minutes = soakMinutesOf(deps.targets, target);
  if (minutes === undefined) return undefined;
  return {
    minutes,
    startedAt: at.toISOString(),
    endsAt: new Date(at.getTime() + minutes * 60_000).toISOString(),
    status: 'soaking',
  };
};

/** Unknown upstreams, a target promoted from itself, and cycles: config errors naming the chain. */
export const promotionIssues = (
  targets: { name: string; promotesFrom?: { target: string } | undefined }[],
): { index: number; message: string }[] => {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const issues: { index: number; message: string }[] = [];
  targets.forEach((target, index) => {
    const upstream = target.promotesFrom?.target;
    if (upstream === undefined) return;
    if (upstream === target.name) {
      issues.push({ index, message: `"${target.name}" cannot be promoted from itself` });
      return;
    }
    if (!byName.has(upstream)) {
      issues.push({
        index,
        message: `no target named "${upstream}" (configured: ${targets.map((t) => t.name).join(', ')}); promotesFrom names a target of this file`,
      });
      return;
    }
    // Follow the chain upwards; coming back to this target is a cycle.
    const chain = [target.name];
    for (let next = byName.get(upstream); next; next = byName.get(next.promotesFrom?.target ?? '')) {
      chain.push(next.name);
      if (next.name === target.name) {
        issues.push({
          index,
          message: `promotesFrom forms a cycle (${chain.join(' → ')}): no release could ever be the first`,
        });
        return;
      }
      if (chain.length > targets.length + 1) return;
    }
  });
  return issues;
};

/** A Promoted release's soak, on its record: set by RecordOutcome, judged by the reconciler. */
export interface Soak {
  minutes: number;
  startedAt: string;
  endsAt: string;
  status: 'soaking' | 'completed' | 'failed';
  judgedAt?: string;
  /** Why it failed, or what was checked when it completed. */
  detail?: string;
  /** When the verdict reached Switchyard's bus (a promotion starts from it); unset, it is sent again. */
  announcedAt?: string;
}

/** What a downstream release carries of its upstream: the gate's evidence. */
export interface PromotionEvidence {
  from: string;
  environment: string;
  /** The upstream release (absent when break-glass passed a gate that had none to show). */
  releaseId?: string;
  outcome?: string;
  image?: { repository: string; tag: string; digest: string };
  promotedAt?: string;
  soak?: Soak;
  /** The upstream's health judgement and approval, as its phases recorded them. */
  health: string[];
  /** The upstream's analysis of each bake, one line per check (empty without analysis). */
  analysis?: string[];
  approval?: string;
  hooks: string[];
  /** Set when break-glass let the release past a closed gate: why the gate was closed. */
  overridden?: string;
}

export type Gate =
  | { open: true; evidence: PromotionEvidence }
  | { open: false; reason: string; evidence: PromotionEvidence };

const short = (digest: string) => digest.slice(0, 'sha256:'.length + 12);

/** What to do about an image that cannot earn the gate any more. */
const NEXT_BUILD =
  'This image cannot pass the gate now: release a new build through the upstream target, or release this one with --break-glass (recorded)';

const evidenceOf = (record: ReleaseRecord, upstream: Target): PromotionEvidence => ({
  from: upstream.name,
  releaseId: record.releaseId,
  outcome: record.outcome ?? record.status,
  environment: upstream.environment,
  image: record.image ?? { repository: upstream.image.repository, tag: '?', digest: '?' },
  ...(record.endedAt ? { promotedAt: record.endedAt } : {}),
  ...(record.soak ? { soak: record.soak } : {}),
  health: record.phases
    .filter((p) => p.name === 'CheckHealth' && p.detail)
    .map((p) => `${p.status}: ${p.detail}`),
  ...(() => {
    const approval = record.phases.findLast((p) => p.name === 'Approval');
    return approval?.detail ? { approval: approval.detail } : {};
  })(),
  hooks: (record.hooks ?? []).map(
    (h) =>
      `${h.name} (${h.point}): ${h.exitCode === 0 ? 'exit 0' : `exit ${h.exitCode ?? '?'}${h.stoppedReason ? `, ${h.stoppedReason}` : ''}`}`,
  ),
  // Each bake's analysis, one line per check: verdict, value, baseline.
  analysis: (record.analysis ?? []).flatMap((bake) =>
    bake.results.map(
      (r) =>
        `${r.check} ${bake.percent === 0 ? 'on test traffic' : `at ${bake.percent}%`}: ${r.verdict}, ${r.value === null ? 'no data' : formatValue(r.value, r.unit)}${r.baseline === null ? '' : ` vs ${formatValue(r.baseline, r.unit)}`}${r.comparison ? ` (Mann-Whitney p=${r.comparison.pValue.toPrecision(2)})` : ''}`,
    ),
  ),
});

/**
 * Is `digest` allowed onto `target`? Open when the upstream has a release of it that ended Promoted,
 * was not rolled back, and whose soak completed for at least the minutes this target asks for.
 * Otherwise closed, with the missing evidence named. Reads the upstream's history only.
 */
export const promotionGate = async (
  target: Target,
  digest: string,
  deps: { targets: TargetsFile; store: Pick<Store, 'releasesForTarget'>; now: () => Date },
): Promise<Gate | undefined> => {
  const gate = target.promotesFrom;
  if (!gate) return undefined;
  const upstream = deps.targets.targets.find((t) => t.name === gate.target);
  if (!upstream)
    return {
      open: false,
      reason: `upstream target "${gate.target}" is not configured`,
      evidence: { from: gate.target, environment: '?', health: [], hooks: [] },
    };
  const history = await deps.store.releasesForTarget(upstream.name, 100);
  const ofImage = history.filter(
    (r) => (r.kind ?? ReleaseKind.Release) === ReleaseKind.Release && r.image?.digest === digest,
  );
  const where = `${upstream.name} (${upstream.environment})`;
  let evidence: PromotionEvidence = {
    from: upstream.name,
    environment: upstream.environment,
    health: [],
    hooks: [],
  };
  const closed = (why: string): Gate => ({
    open: false,
    reason: `promotion gate: ${target.name} takes only images promoted in ${where} and soaked ${gate.soakMinutes} min; ${short(digest)} ${why}`,
    evidence,
  });
  if (ofImage.length === 0) return closed(`was never released there: release it to ${upstream.name} first`);
  const promoted = ofImage.find((r) => r.outcome === Outcome.Promoted);
  if (!promoted) {
    const running = ofImage.find((r) => !r.outcome);
    if (running) return closed(`is being released there now (${running.releaseId}, ${running.status})`);
    return closed(
      `never ended Promoted there (${ofImage.map((r) => `${r.releaseId}: ${r.outcome}`).join('; ')})`,
    );
  }
  evidence = evidenceOf(promoted, upstream);
  const back = rollbackAgainst(history, promoted);
  if (back)
    return closed(
      `${back.outcome ? `was rolled back there by ${back.releaseId} at ${back.endedAt ?? back.updatedAt} (${back.outcome})` : `is being rolled back there now (${back.releaseId})`}${back.reason ? `: ${back.reason}` : ''}. ${NEXT_BUILD}`,
    );
  const soak = promoted.soak;
  if (!soak)
    return closed(
      `ended Promoted there (${promoted.releaseId}) without a soak (before ${upstream.name} had a target promoted from it, or recorded by a recovery). ${NEXT_BUILD}`,
    );
  if (soak.status === 'failed')
    return closed(`failed its soak there (${promoted.releaseId}): ${soak.detail}. ${NEXT_BUILD}`);
  if (soak.status === 'soaking') {
    const left = Math.max(0, Math.ceil((Date.parse(soak.endsAt) - deps.now().getTime()) / 60_000));
    return closed(
      `is still soaking there (${promoted.releaseId}) until ${soak.endsAt} (${left} min left; judged within a minute after)`,
    );
  }
  if (soak.minutes < gate.soakMinutes)
    return closed(
      `soaked only ${soak.minutes} min there (${promoted.releaseId}); this gate asks for ${gate.soakMinutes}`,
    );
  return { open: true, evidence };
};

/** The approval request's entries (page, email, Slack): what the upstream proved, one line each. */
export const evidenceDetails = (e: PromotionEvidence): Record<string, string> => ({
  'Promoted from': e.releaseId
    ? `${e.from} (${e.environment}): ${e.releaseId} ended ${e.outcome}${e.promotedAt ? ` at ${e.promotedAt}` : ''}`
    : `${e.from} (${e.environment}): no upstream release`,
  ...(e.soak
    ? {
        'Upstream soak': `${e.soak.minutes} min, ${e.soak.startedAt} → ${e.soak.endsAt}: ${e.soak.status}${e.soak.detail ? ` (${e.soak.detail})` : ''}`,
      }
    : {}),
  ...(e.health.length ? { 'Upstream health': e.health.join('; ') } : {}),
  ...(e.hooks.length ? { 'Upstream hooks': e.hooks.join('; ') } : {}),
  ...(e.analysis?.length ? { 'Upstream analysis': e.analysis.join('; ') } : {}),
  ...(e.approval ? { 'Upstream approval': e.approval } : {}),
  ...(e.overridden
    ? { 'Promotion gate': `OVERRIDDEN with break-glass; it was closed: ${e.overridden}` }
    : {}),
});

/** Lines for notices and the approval request: what the upstream proved. */
export const evidenceLines = (e: PromotionEvidence): string[] => [
  e.releaseId
    ? `Promoted from ${e.from} (${e.environment}): release ${e.releaseId} ended ${e.outcome}${e.promotedAt ? ` at ${e.promotedAt}` : ''}.`
    : `Promoted from ${e.from} (${e.environment}): no upstream release to show.`,
  ...(e.soak
    ? [
        `Soak: ${e.soak.minutes} min, ${e.soak.startedAt} → ${e.soak.endsAt}, ${e.soak.status}${e.soak.detail ? ` (${e.soak.detail})` : ''}.`,
      ]
    : []),
  ...e.health.map((h) => `Upstream health: ${h}.`),
  ...e.hooks.map((h) => `Upstream hook ${h}.`),
  ...(e.analysis ?? []).map((a) => `Upstream analysis: ${a}.`),
  ...(e.approval ? [`Upstream approval: ${e.approval}.`] : []),
  ...(e.overridden ? [`Gate overridden with break-glass; it was closed: ${e.overridden}.`] : []),
];
