/**
 * Virtual time for the local runtime: a discrete-event clock. Timers (`setTimeout`, `setInterval`)
 * and `Date` are replaced while a runtime is active, so every wait — a Wait state, a task timeout,
 * a retry backoff, a task starting in the simulated account — is an event on one queue. When every
 * execution is parked and no real I/O is in flight, the clock jumps to the next event.
 */
import { syncBuiltinESMExports } from 'node:module';
import { install } from '@sinonjs/fake-timers';

type InstalledClock = ReturnType<typeof install>;

export class IoTracker {
  private inFlight = 0;
  /** Real calls made (DynamoDB requests, HTTP probes). */
  count = 0;
  private waiters: (() => void)[] = [];

  begin() {
    this.count++;
    this.inFlight++;
  }

  end() {
    this.inFlight--;
    if (this.inFlight === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Runs real calls one at a time, in the order they were asked for. Concurrent releases then see
   * their DynamoDB answers in the same order on every run, however busy the machine is, so they
   * draw the seeded randomness (latencies, jitter) in the same order: same seed, same figures.
   */
  serial<T>(call: () => Promise<T>): Promise<T> {
    const result = this.queue.then(call, call);
    this.queue = result.catch(() => undefined);
    return result;
  }

  get busy() {
    return this.inFlight > 0;
  }

  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

const realSetImmediate = globalThis.setImmediate;

/** File system requests in flight (a lazily imported module, say): real work the clock must wait for. */
const fileIoPending = () => process.getActiveResourcesInfo().some((r) => r.startsWith('FSReq'));

export class VirtualClock {
  private clock: InstalledClock | undefined;

  install(startMs: number) {
    this.clock = install({
      now: startMs,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      shouldClearNativeTimers: true,
    });
    // Fake timers patch `require('node:timers')`; ES modules that imported from it (middy's early
    // timeout does) hold their own bindings, which only this call brings up to date. Without it,
    // their timers run on the real clock, so a busy machine changes what happens.
    syncBuiltinESMExports();
  }

  uninstall() {
    this.clock?.uninstall();
    this.clock = undefined;
    syncBuiltinESMExports();
  }

  get installed() {
    return this.clock !== undefined;
  }

  /** Lets promise chains and real I/O run until nothing moves without time passing. */
  async quiesce(io: IoTracker) {
    for (let idleTurns = 0; idleTurns < 3; ) {
      await new Promise((resolve) => realSetImmediate(resolve));
      if (io.busy) {
        await io.idle();
        idleTurns = 0;
      } else if (fileIoPending()) {
        idleTurns = 0;
      } else {
        idleTurns++;
      }
    }
  }

  /** Jumps to the next timer and fires it; false when no timer is pending. */
  advance(): boolean {
    if (!this.clock || this.clock.countTimers() === 0) return false;
    this.clock.next();
    return true;
  }

  /** Moves time by `ms` only, firing what falls due (while a person's request is being served). */
  crawl(ms: number): boolean {
    if (!this.clock) return false;
    this.clock.tick(ms);
    return true;
  }
}
