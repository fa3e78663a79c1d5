/**
 * Recurring freeze windows in a time zone, e.g. "Fridays 16:00 to Mondays 08:00, Europe/Berlin" as
 * `{ days: ['fri'], start: '16:00', end: '08:00' }` plus a Sat/Sun window. Local wall-clock times are
 * turned into instants with the zone's offset at that moment, so DST changes are handled: a window
 * "09:00-17:00" is 8 hours on a normal day, and its end is 17:00 local on the day it ends.
 */

export const Days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof Days)[number];

export interface FreezeWindow {
  name: string;
  /** IANA time zone, e.g. `Europe/Berlin`. */
  timeZone: string;
  /** Days the window *starts* on (local). */
  days: readonly Day[];
  /** Local `HH:MM`. */
  start: string;
  /** Local `HH:MM` (`24:00` = midnight at the end of the day); at or before `start` = the next day. */
  end: string;
}

export interface ActiveFreeze {
  window: FreezeWindow;
  /** The instant the window ends (the first moment a SetWeight may start). */
  endsAt: Date;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const formatterFor = (timeZone: string) => {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
};

/** True if `timeZone` is an IANA zone this runtime knows. */
export const isTimeZone = (timeZone: string): boolean => {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
};

interface Wall {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minutes: number;
  seconds: number;
}

const wallTime = (at: Date, timeZone: string): Wall => {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: Days.indexOf((parts.weekday ?? '').toLowerCase().slice(0, 3) as Day),
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
    seconds: Number(parts.second),
  };
};

/** Milliseconds the zone is ahead of UTC at `at`. */
const offsetMs = (at: number, timeZone: string): number => {
  const w = wallTime(new Date(at), timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, 0, w.minutes, w.seconds);
  return asUtc - Math.floor(at / 1000) * 1000;
};

/**
 * The first instant after `after` at which the local wall time is `minutes` on `date`. As
 * Temporal's "compatible" disambiguation: a time skipped by a spring-forward jump maps to the same
 * time after the jump (02:30 → 03:30), a time repeated in autumn to its first occurrence that is
 * still ahead.
 */
export const zonedInstant = (
  date: { year: number; month: number; day: number },
  minutes: number,
  timeZone: string,
  after = Number.NEGATIVE_INFINITY,
): Date => {
  const guess = Date.UTC(date.year, date.month - 1, date.day, 0, minutes);
  const offsetBefore = offsetMs(guess - 12 * 3600_000, timeZone);
  const offsetAfter = offsetMs(guess + 12 * 3600_000, timeZone);
  const shows = (t: number) => wallTime(new Date(t), timeZone).minutes === minutes % 1440;
  const valid = [guess - offsetBefore, guess - offsetAfter]
    .filter((t) => shows(t) && t > after)
    .sort((a, b) => a - b);
  return new Date(valid[0] ?? guess - offsetBefore);
};

const toMinutes = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

const addDays = (date: { year: number; month: number; day: number }, n: number) => {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + n));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
};

/** The window that contains `at`, if any, with the instant it ends. */
const containing = (window: FreezeWindow, at: Date): ActiveFreeze | undefined => {
  const now = wallTime(at, window.timeZone);
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  const startsOn = (weekday: number) => window.days.includes(Days[(weekday + 7) % 7] as Day);
  const today = { year: now.year, month: now.month, day: now.day };
  if (end > start) {
    if (startsOn(now.weekday) && now.minutes >= start && now.minutes < end) {
      return { window, endsAt: zonedInstant(today, end, window.timeZone, at.getTime()) };
    }
    return undefined;
  }
  // Crosses midnight: started today after `start`, or started yesterday and `end` not reached yet.
  if (startsOn(now.weekday) && now.minutes >= start) {
    return { window, endsAt: zonedInstant(addDays(today, 1), end, window.timeZone, at.getTime()) };
  }
  if (startsOn(now.weekday - 1) && now.minutes < end) {
    return { window, endsAt: zonedInstant(today, end, window.timeZone, at.getTime()) };
  }
  return undefined;
};

/**
 * The freeze in force at `at`: of the windows containing it, the one that ends last. Windows that
 * follow each other back to back are found one after the other, as the release re-checks on waking.
 */
export const activeFreeze = (windows: readonly FreezeWindow[], at: Date): ActiveFreeze | undefined =>
  windows
    .map((w) => containing(w, at))
    .filter((f): f is ActiveFreeze => f !== undefined)
    .sort((a, b) => b.endsAt.getTime() - a.endsAt.getTime())[0];
