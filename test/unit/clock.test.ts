/**
 * The virtual clock must own every timer the functions' libraries set, including those of ES
 * modules that imported `setTimeout` from `node:timers` (middy's early timeout does): a timer on the
 * real clock fires after real milliseconds, so a busy machine would change what a run does.
 */
import { setTimeout as importedSetTimeout } from 'node:timers';
import { describe, expect, it } from 'vitest';
import { IoTracker, VirtualClock } from '../../local/clock.ts';

describe('virtual clock', () => {
  it("runs node:timers' ES-module bindings on virtual time, and gives them back afterwards", async () => {
    const real = importedSetTimeout;
    const clock = new VirtualClock();
    clock.install(Date.parse('2026-01-05T09:00:00Z'));
    try {
      expect(importedSetTimeout).not.toBe(real);
      let fired = false;
      importedSetTimeout(() => {
        fired = true;
      }, 30_000);
      const startedReal = performance.now();
      expect(clock.advance()).toBe(true);
      expect(fired).toBe(true);
      expect(Date.now()).toBe(Date.parse('2026-01-05T09:00:30Z'));
      expect(performance.now() - startedReal).toBeLessThan(1000);
    } finally {
      clock.uninstall();
    }
    expect(importedSetTimeout).toBe(real);
  });
});

describe('IoTracker.serial', () => {
  it('runs real calls one at a time, finishing in the order they were asked for', async () => {
    const io = new IoTracker();
    let running = 0;
    let most = 0;
    const finished: string[] = [];
    const call = (name: string, realMs: number) => async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, realMs));
      running--;
      finished.push(name);
      return name;
    };
    // The first is the slowest: run side by side, it would finish last.
    const results = await Promise.all([
      io.serial(call('a', 30)),
      io.serial(call('b', 1)),
      io.serial(call('c', 10)),
    ]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(finished).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
  });

  it('goes on after a call that failed', async () => {
    const io = new IoTracker();
    await expect(io.serial(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await io.serial(async () => 'next')).toBe('next');
  });
});
