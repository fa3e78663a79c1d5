/**
 * Which notices each channel gets (`notify.events`): per channel, a list of state names or of the
 * groups below. A channel without a list gets everything, as before. Switchyard's bus always gets
 * every state change: a rule on the bus does its own routing.
 */
import * as z from 'zod';

/** Every kind of notice, by the state it announces (the events.ts states plus the soak's verdicts). */
export const NoticeKinds = [
  'Started',
  'ApprovalRequested',
  'ApprovalDecided',
  'TrafficShifted',
  'Promoted',
  'SoakCompleted',
  'SoakFailed',
  'Aborted',
  'RolledBack',
  'RollbackFailed',
  'Superseded',
  'Recovering',
] as const;
export type NoticeKind = (typeof NoticeKinds)[number];

/** Shorthands: what a person must look at, and how each release ended. */
export const NoticeGroups = {
  failures: ['Aborted', 'RolledBack', 'RollbackFailed', 'SoakFailed', 'Recovering'],
  outcomes: ['Promoted', 'Aborted', 'RolledBack', 'RollbackFailed', 'Superseded'],
} as const satisfies Record<string, readonly NoticeKind[]>;

const routeSchema = z
  .array(z.enum([...NoticeKinds, ...(Object.keys(NoticeGroups) as (keyof typeof NoticeGroups)[])]))
  .min(1, 'list at least one event; remove the channel to send it nothing')
  .max(30);

export const routesSchema = z
  .strictObject({ sns: routeSchema.optional(), slack: routeSchema.optional(), teams: routeSchema.optional() })
  .optional();
export type Routes = z.infer<typeof routesSchema>;

/** A notice's kind: the state it publishes, else what its event name says (a freeze hold is a step). */
export const noticeKind = (notice: { event: string; state?: { name: string } | undefined }): NoticeKind => {
  const name = notice.state?.name ?? notice.event;
  if (name === 'started') return 'Started';
  if (name === 'step') return 'TrafficShifted';
  return (NoticeKinds as readonly string[]).includes(name) ? (name as NoticeKind) : 'Started';
};

/** Does `channel` take a notice of `kind`? */
export const routed = (routes: Routes, channel: 'sns' | 'slack' | 'teams', kind: NoticeKind): boolean => {
  const list = routes?.[channel];
  if (!list) return true;
  return list.some((entry) =>
    entry in NoticeGroups
      ? (NoticeGroups[entry as keyof typeof NoticeGroups] as readonly string[]).includes(kind)
      : entry === kind,
  );
};
