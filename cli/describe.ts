/**
 * `switchyard describe --release <id>`: one release's (or rollback's) whole record, read-only.
 * What it was, how it ended and why; every phase of the audit trail with its times (health
 * against its limits, the approval's votes and decision, what each notification said and where
 * it went); the approval as stored (who was asked, who decided, when, through which channel); the
 * snapshot, and what a rollback of it would do.
 */
import { analysisLines } from '../functions/shared/analysis/text.ts';
import type { ApprovalRecord } from '../functions/shared/approvals.ts';
import { releaseIdSchema } from '../functions/shared/schemas.ts';
import { approvalIdFor } from '../functions/shared/signing.ts';
import type { ReleaseRecord } from '../functions/shared/store.ts';
import { ReleaseKind } from '../functions/shared/vocabulary.ts';
import type { Backend } from './backend.ts';
import { durationSeconds, formatDuration, table } from './format.ts';
import { type CommandResult, type Output, UsageError } from './results.ts';

/** `+1m 05s`: how long after the release started. */
const offset = (from: string, at: string) => {
  const seconds = Math.max(0, Math.round((Date.parse(at) - Date.parse(from)) / 1000));
  return `+${formatDuration(seconds)}`;
};

const spanSeconds = (startedAt: string, endedAt: string) =>
  Math.round((Date.parse(endedAt) - Date.parse(startedAt)) / 100) / 10;

const spanText = (seconds: number) => (seconds < 60 ? `${seconds}s` : formatDuration(Math.round(seconds)));

/** What rolling this release back would do, from what the record says was live before. */
const rollbackPlan = (r: ReleaseRecord): string => {
  if (r.kind === ReleaseKind.Rollback) return 'not applicable: this is a rollback';
  if (!r.fromColour || !r.toColour)
    return 'none: no colour was planned (the release stopped before deploying)';
  if (r.migrated === 'breaking')
    return `none automatic: a breaking migration ran, so ${r.fromColour}'s version cannot run on the new schema; restore ${r.snapshotId ?? 'the snapshot'}, then switchyard rollback --target ${r.target} --force`;
  const warm = `weights back to ${r.fromColour}${r.migrated === 'expand' ? ' (the expand migration needs no restore)' : ''}`;
  return r.previousTaskDefinitionArn
    ? `${warm} while it is warm; once scaled down, ${r.fromColour} is redeployed with ${r.previousTaskDefinitionArn} first`
    : warm;
};

const approvalJson = (a: ApprovalRecord) => ({
  approvalId: a.approvalId,
  status: a.status,
  approvers: a.approvers,
  asked: a.sentTo ? [...a.sentTo].sort() : [],
  requester: a.requester,
  twoPerson: a.twoPerson,
  approvedBy: a.approvedBy ? [...a.approvedBy] : [],
  decidedBy: a.decidedBy ?? [],
  decidedAt: a.decidedAt ?? null,
  channel: a.channel ?? null,
  reason: a.reason ?? null,
  deadline: new Date(a.deadline * 1000).toISOString(),
  confirmedAt: a.deliveredAt ?? null,
  /** What the approvers were shown (the email, the page and the Slack message carry these lines). */
  shown: a.details ?? {},
});

export const describeRelease = async (
  backend: Pick<Backend, 'store' | 'approvals'>,
  out: Output,
  options: { releaseId: string },
): Promise<CommandResult> => {
  const id = releaseIdSchema.safeParse(options.releaseId);
  if (!id.success) {
    throw new UsageError(
      `--release ${JSON.stringify(options.releaseId.slice(0, 100))} is not a release id (switchyard history --target <name> lists them)`,
    );
  }
  const r = await backend.store.getRelease(id.data);
  if (!r || (r as { kind?: string }).kind === 'push') {
    throw new UsageError(`no release ${id.data} (switchyard history --target <name> lists them)`);
  }
  const approval = r.approvalId
    ? await backend.approvals.get(r.approvalId)
    : await backend.approvals.get(approvalIdFor(r.releaseId));
  const rollback = r.kind === ReleaseKind.Rollback;
  // In the order they started (a wait's phase is written when it ends, after later steps began).
  const phases = [...r.phases].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));

  const what = rollback
    ? `rollback of ${r.rollbackOf ?? '?'} (${r.rollbackPath ?? 'path not chosen'})`
    : `${r.image?.repository ?? '?'}:${r.image?.tag ?? '?'} (${r.image?.digest ?? '?'})`;
  out.line(`${rollback ? 'Rollback' : 'Release'} ${r.releaseId} of ${r.target} (${r.environment})`);
  const facts: [string, string][] = [
    ['What', what],
    [
      'Outcome',
      `${r.outcome ?? r.status}${r.endedAt ? ` after ${formatDuration(durationSeconds(r))}` : ' (running)'}`,
    ],
    ...(r.error ? ([['Why', `${r.error.Error}: ${r.error.Cause}`]] as [string, string][]) : []),
    [
      'Triggered by',
      `${r.trigger.source}${r.trigger.by ? ` (by ${r.trigger.by})` : ''}${r.trigger.reason ? `: ${r.trigger.reason}` : ''}`,
    ],
    ...(r.promotion
      ? ([
          [
            'Promoted from',
            `${r.promotion.from} (${r.promotion.environment}): ${r.promotion.releaseId ?? 'no upstream release'}${r.promotion.outcome ? ` ended ${r.promotion.outcome}` : ''}${r.promotion.promotedAt ? ` at ${r.promotion.promotedAt}` : ''}${r.promotion.soak ? `; soak ${r.promotion.soak.minutes} min ${r.promotion.soak.status}${r.promotion.soak.detail ? ` (${r.promotion.soak.detail})` : ''}` : ''}${r.promotion.overridden ? `; gate OVERRIDDEN with break-glass (${r.promotion.overridden})` : ''}`,
          ],
        ] as [string, string][])
      : []),
    ...(r.soak
      ? ([
          [
            'Soak',
            `${r.soak.minutes} min, ${r.soak.startedAt} → ${r.soak.endsAt}: ${r.soak.status}${r.soak.detail ? ` (${r.soak.detail})` : ''}`,
          ],
        ] as [string, string][])
      : []),
    ['Started', r.createdAt],
    ...(r.reason ? ([['Reason given', r.reason]] as [string, string][]) : []),
    ['Colours', r.fromColour && r.toColour ? `${r.fromColour} → ${r.toColour}` : '-'],
    ['Snapshot', r.snapshotId ? `${r.snapshotId} (kept; restore is never automatic)` : 'none'],
    ['Rollback plan', rollbackPlan(r)],
  ];
  for (const [k, v] of facts) out.line(`${`${k}:`.padEnd(15)}${v}`);

  out.line('');
  out.line('Phases:');
  for (const line of table(
    ['at', 'step', 'took', 'status', 'detail'],
    phases.map((p) => [
      offset(r.createdAt, p.startedAt),
      p.name,
      p.startedAt === p.endedAt ? '-' : spanText(spanSeconds(p.startedAt, p.endedAt)),
      p.status,
      p.detail ?? '',
    ]),
  ))
    out.line(`  ${line}`);

  if (r.hooks?.length) {
    out.line('');
    out.line('Hooks:');
    for (const h of r.hooks) {
      out.line(`  ${h.point} ${h.name}: ${h.status}${h.migration ? ` (${h.migration} migration)` : ''}`);
      out.line(`    ${h.detail}`);
      if (h.stoppedReason || h.exitCode !== undefined)
        out.line(
          `    exit code ${h.exitCode ?? '-'}; ${h.stopCode ?? ''} ${h.stoppedReason ?? ''}`.trimEnd(),
        );
      for (const line of h.logTail ?? []) out.line(`    | ${line}`);
      if (h.logUrl) out.line(`    log: ${h.logUrl}`);
    }
  }

  if (r.analysis?.length) {
    out.line('');
    out.line('Analysis (each bake, at its end):');
    for (const bake of r.analysis) for (const line of analysisLines(bake)) out.line(`  ${line}`);
  }

  if (r.notice) {
    out.line('');
    out.line(
      `Notified: "${r.notice.subject}" on ${r.notice.delivered.join(', ') || 'no channel'}${r.notice.failed.length ? `; failed: ${r.notice.failed.join(', ')}` : ''}`,
    );
    for (const line of r.notice.text.split('\n')) out.line(`  ${line}`);
  }

  if (approval) {
    const a = approvalJson(approval);
    out.line('');
    out.line('Approval:');
    out.line(
      `  ${a.status}${a.decidedBy.length ? ` by ${a.decidedBy.join(' and ')} via ${a.channel} at ${a.decidedAt}` : ''}${a.reason ? ` (${a.reason})` : ''}`,
    );
    out.line(
      `  approvers: ${a.approvers.join(', ')}; asked: ${a.asked.join(', ') || 'nobody yet'}${a.twoPerson ? '; two must approve' : ''}`,
    );
    out.line(
      `  requester: ${a.requester ?? 'unknown'}; deadline ${a.deadline}${a.confirmedAt ? `; Step Functions confirmed it at ${a.confirmedAt}` : ''}`,
    );
    if (Object.keys(a.shown).length) {
      out.line('  shown to the approvers (email, page, Slack):');
      for (const [k, v] of Object.entries(a.shown)) out.line(`    ${k}: ${v}`);
    }
  }

  return { exitCode: 0, json: releaseJson(r, approval) };
};

/** A release's (or rollback's) whole record as JSON: `describe --json`, and `release`/`rollback --json`. */
export const releaseJson = (r: ReleaseRecord, approval: ApprovalRecord | undefined) => {
  const phases = [...r.phases].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  return {
    releaseId: r.releaseId,
    kind: r.kind ?? ReleaseKind.Release,
    target: r.target,
    environment: r.environment,
    image: r.image ?? null,
    status: r.status,
    outcome: r.outcome ?? null,
    error: r.error ?? null,
    trigger: r.trigger,
    createdAt: r.createdAt,
    endedAt: r.endedAt ?? null,
    durationSeconds: durationSeconds(r) ?? null,
    reason: r.reason ?? null,
    rollbackOf: r.rollbackOf ?? null,
    rollbackPath: r.rollbackPath ?? null,
    colours: r.fromColour && r.toColour ? { from: r.fromColour, to: r.toColour } : null,
    snapshotId: r.snapshotId ?? null,
    rollbackPlan: rollbackPlan(r),
    phases: phases.map((p) => ({
      ...p,
      detail: p.detail ?? null,
      seconds: spanSeconds(p.startedAt, p.endedAt),
    })),
    hooks: r.hooks ?? [],
    migrated: r.migrated ?? null,
    notice: r.notice ?? null,
    approval: approval ? approvalJson(approval) : null,
    promotion: r.promotion ?? null,
    analysis: r.analysis ?? [],
    soak: r.soak ?? null,
  };
};
