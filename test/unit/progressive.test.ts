import { describe, expect, it } from 'vitest';
import { activeFreeze, type FreezeWindow, zonedInstant } from '../../functions/shared/freeze.ts';
import { slackPayload, teamsPayload } from '../../functions/shared/notifications.ts';
import { planSteps, weightsFor } from '../../functions/shared/strategy.ts';

describe('traffic steps', () => {
  it('all-at-once is one 100% step whose bake keeps the old colour warm', () => {
    expect(planSteps({ type: 'all-at-once' }, 20)).toEqual([{ percent: 100, bakeSeconds: 1200 }]);
  });

  it('canary is the canary percent with its bake, then 100% with the final bake', () => {
    expect(planSteps({ type: 'canary', percent: 10, bakeMinutes: 5 }, 15)).toEqual([
      { percent: 10, bakeSeconds: 300 },
      { percent: 100, bakeSeconds: 900 },
    ]);
  });

  it('linear climbs in equal steps below 100, then 100', () => {
    const steps = planSteps({ type: 'linear', stepPercent: 10, stepBakeMinutes: 2 }, 10);
    expect(steps.map((s) => s.percent)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(steps.slice(0, -1).every((s) => s.bakeSeconds === 120)).toBe(true);
    expect(steps.at(-1)).toEqual({ percent: 100, bakeSeconds: 600 });
    // A step that does not divide 100 stops below it and the last step takes the rest.
    expect(
      planSteps({ type: 'linear', stepPercent: 30, stepBakeMinutes: 0.5 }, 0).map((s) => [
        s.percent,
        s.bakeSeconds,
      ]),
    ).toEqual([
      [30, 30],
      [60, 30],
      [90, 30],
      [100, 0],
    ]);
  });

  it('turns a percent into ALB weights within 0-999 that sum to 100', () => {
    expect(weightsFor('green', 10)).toEqual({ green: 10, blue: 90 });
    expect(weightsFor('blue', 100)).toEqual({ blue: 100, green: 0 });
    expect(weightsFor('green', 0)).toEqual({ green: 0, blue: 100 });
    expect(() => weightsFor('green', 12.5)).toThrow(/integer 0-100/);
    expect(() => weightsFor('green', 101)).toThrow(/integer 0-100/);
  });
});

const window = (w: Partial<FreezeWindow>): FreezeWindow => ({
  name: 'freeze',
  timeZone: 'Europe/Berlin',
  days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
  start: '00:00',
  end: '24:00',
  ...w,
});
const at = (iso: string) => new Date(iso);

describe('freeze windows', () => {
  it('holds a same-day window in its own time zone, end exclusive', () => {
    const w = window({ days: ['mon'], start: '09:00', end: '17:00' });
    // 2026-01-05 is a Monday; Berlin is UTC+1 in winter.
    expect(activeFreeze([w], at('2026-01-05T07:59:00Z'))).toBeUndefined();
    expect(activeFreeze([w], at('2026-01-05T08:00:00Z'))?.endsAt.toISOString()).toBe(
      '2026-01-05T16:00:00.000Z',
    );
    expect(activeFreeze([w], at('2026-01-05T16:00:00Z'))).toBeUndefined();
    // Tuesday: not a day the window starts on.
    expect(activeFreeze([w], at('2026-01-06T10:00:00Z'))).toBeUndefined();
  });

  it('judges the weekday in the window zone, not in UTC', () => {
    const w = window({ timeZone: 'Asia/Tokyo', days: ['sat'], start: '08:00', end: '12:00' });
    // Friday 23:30 UTC is Saturday 08:30 in Tokyo (UTC+9).
    expect(activeFreeze([w], at('2026-01-09T23:30:00Z'))?.endsAt.toISOString()).toBe(
      '2026-01-10T03:00:00.000Z',
    );
  });

  it('continues a window that crosses midnight into the next day', () => {
    const w = window({ timeZone: 'America/New_York', days: ['fri'], start: '17:00', end: '08:00' });
    // Friday 2026-01-09 22:00 UTC = 17:00 New York (UTC-5): starts, ends Saturday 08:00 local.
    expect(activeFreeze([w], at('2026-01-09T22:00:00Z'))?.endsAt.toISOString()).toBe(
      '2026-01-10T13:00:00.000Z',
    );
    // Saturday 06:00 local (started on Friday) is still inside; Saturday 17:00 is not a start day.
    expect(activeFreeze([w], at('2026-01-10T11:00:00Z'))?.endsAt.toISOString()).toBe(
      '2026-01-10T13:00:00.000Z',
    );
    expect(activeFreeze([w], at('2026-01-10T22:00:00Z'))).toBeUndefined();
  });

  it('of overlapping windows, waits for the one that ends last', () => {
    const short = window({ name: 'lunch', start: '12:00', end: '13:00' });
    const long = window({ name: 'audit', start: '11:00', end: '15:00' });
    expect(activeFreeze([short, long], at('2026-01-05T11:30:00Z'))?.window.name).toBe('audit');
  });

  it('ends a window at the right instant on the night clocks spring forward', () => {
    // Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST, so the day has 23 hours.
    const w = window({ start: '00:00', end: '06:00' });
    const freeze = activeFreeze([w], at('2026-03-28T23:30:00Z')); // 00:30 CET
    expect(freeze?.endsAt.toISOString()).toBe('2026-03-29T04:00:00.000Z'); // 06:00 CEST
    // An end inside the skipped hour (02:30) ends at 03:30 CEST, as Temporal's "compatible" does.
    expect(zonedInstant({ year: 2026, month: 3, day: 29 }, 150, 'Europe/Berlin').toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });

  it('ends a window at the right occurrence on the night clocks fall back', () => {
    // Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
    const w = window({ start: '01:00', end: '02:30' });
    // First 02:15 (CEST, 00:15 UTC): the window ends at the first 02:30, 00:30 UTC.
    expect(activeFreeze([w], at('2026-10-25T00:15:00Z'))?.endsAt.toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    // Second 02:15 (CET, 01:15 UTC): the end still ahead is the second 02:30, never one in the past.
    expect(activeFreeze([w], at('2026-10-25T01:15:00Z'))?.endsAt.toISOString()).toBe(
      '2026-10-25T01:30:00.000Z',
    );
  });

  it('treats 00:00-24:00 as the whole day and 24:00 as the next midnight', () => {
    const w = window({ days: ['sat', 'sun'] });
    const freeze = activeFreeze([w], at('2026-01-10T12:00:00Z')); // Saturday
    expect(freeze?.endsAt.toISOString()).toBe('2026-01-10T23:00:00.000Z'); // Sunday 00:00 Berlin
    // Back to back: on waking at Sunday 00:00 the Sunday window holds the release again.
    expect(activeFreeze([w], freeze?.endsAt as Date)?.endsAt.toISOString()).toBe('2026-01-11T23:00:00.000Z');
  });
});

describe('notification payloads', () => {
  const target = {
    name: 'checkout-api',
    environment: 'prod',
  } as Parameters<typeof slackPayload>[0];
  const notice = {
    releaseId: 'checkout-api-1',
    event: 'Promoted',
    subject: 'v2: Promoted',
    lines: ['a', 'b'],
  };

  it('Slack: fallback text plus header, body and context blocks', () => {
    expect(slackPayload(target, notice)).toEqual({
      text: 'v2: Promoted',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'v2: Promoted' } },
        { type: 'section', text: { type: 'mrkdwn', text: 'a\nb' } },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'checkout-api (prod) · release checkout-api-1' }],
        },
      ],
    });
  });

  it('Teams Workflows: a message whose attachment is an Adaptive Card 1.4', () => {
    const payload = teamsPayload(target, notice);
    expect(payload.type).toBe('message');
    const card = payload.attachments[0];
    expect(card?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card?.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card?.content.body.at(-1)).toEqual({
      type: 'FactSet',
      facts: [
        { title: 'Target', value: 'checkout-api (prod)' },
        { title: 'Release', value: 'checkout-api-1' },
        { title: 'Event', value: 'Promoted' },
      ],
    });
  });
});
