/**
 * How the CLI writes records for people: durations, the approvers from an audit trail, and tables
 * whose columns never shift. A leaf module (no imports of the commands).
 */
import type { ReleaseRecord } from '../functions/shared/store.ts';

/** Who approved a release, from its audit trail (`approved by a and b via email`). */
export const approversOf = (r: ReleaseRecord): string[] => {
  const approval = r.phases.findLast((p) => p.name === 'Approval' && p.status === 'succeeded');
  const who = approval?.detail?.match(/^approved by (.+?) via /)?.[1];
  return who ? who.split(' and ') : [];
};

/** Whole seconds from start to end, or undefined while it runs. */
export const durationSeconds = (r: ReleaseRecord) =>
  r.endedAt ? Math.round((Date.parse(r.endedAt) - Date.parse(r.createdAt)) / 1000) : undefined;

export const formatDuration = (seconds: number | undefined) => {
  if (seconds === undefined) return 'running';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${seconds % 60}s` : `${seconds}s`;
};

/** Columns as wide as their widest cell, so long ids never push the next column out of line. */
export const table = (header: string[], rows: string[][]): string[] => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ');
  return [line(header), ...rows.map(line)];
};
