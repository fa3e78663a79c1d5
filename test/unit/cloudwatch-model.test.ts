/**
 * The simulated 5xx alarm judges a listener's minute only once that minute has ended: ALB sends its
 * metrics in 60-second intervals (local/account/cloudwatch.ts).
 */
import { describe, expect, it } from 'vitest';
import { CloudWatchModel } from '../../local/account/cloudwatch.ts';
import { EventBus } from '../../local/bus.ts';
import { Faults } from '../../local/faults.ts';
import { seededRandom } from '../../local/rng.ts';

describe('a 5xx alarm', () => {
  it('goes to ALARM a period after the errors begin, and back to OK a period after they end', () => {
    const envelope = { region: 'us-east-1', account: '123456789012' };
    let errors = 0;
    const cloudwatch = new CloudWatchModel(
      new EventBus(seededRandom(1), new Faults(), envelope),
      envelope,
      () => errors,
    );
    cloudwatch.addAlarm('api-5xx', { where: 'listener/api', thresholdPercent: 1 });
    const state = () => cloudwatch.alarms.get('api-5xx')?.state;
    cloudwatch.evaluate();
    expect(state()).toBe('OK');
    // Half of the requests fail from now: this minute is not published yet.
    errors = 50;
    cloudwatch.evaluate();
    // Before: ALARM at once, in the very minute the errors began.
    expect(state()).toBe('OK');
    cloudwatch.evaluate();
    expect(state()).toBe('ALARM');
    expect(cloudwatch.alarms.get('api-5xx')?.reason).toContain('[50]');
    errors = 0;
    cloudwatch.evaluate();
    expect(state()).toBe('ALARM');
    cloudwatch.evaluate();
    expect(state()).toBe('OK');
  });
});
