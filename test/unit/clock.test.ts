/**
 * The virtual clock must own every timer the functions' libraries set, including those of ES
 * modules that imported `setTimeout` from `node:timers` (middy's early timeout does): a timer on the
 * real clock fires after real milliseconds, so a busy machine would change what a run does.
 */
import { setTimeout as importedSetTimeout } from 'node:timers';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock.ts';

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
