/**
 * What a release is billed for in Step Functions: every state it runs, and every retry of one
 * (aws.amazon.com/step-functions/pricing: "each retry will be charged as an additional state
 * transition"). The bench's cost and the scale run's transitions come from this count.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultPlan } from '../../local/faults.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

/** One release of checkout-api v2 to its end: its execution's transitions and retries. */
const release = async (faults?: FaultPlan) => {
  w = await startWorld({ faults });
  w.rt.push('checkout-api', 'v2');
  await w.rt.settle();
  const [execution] = w.rt.executions();
  const outcome = (await w.rt.release(execution?.name ?? ''))?.outcome;
  await w.rt.dispose();
  w = undefined;
  return { outcome, transitions: execution?.stateTransitions, retries: execution?.retries };
};

describe('state transitions', () => {
  it('counts a state that Step Functions retried once more for each retry', async () => {
    const clean = await release();
    expect(clean).toMatchObject({ outcome: 'Promoted', retries: 0 });

    // The health check's read throttled past the SDK's 3 attempts: the step fails with Throttled,
    // and the state machine's Throttled retrier runs CheckHealth again, which passes.
    const retried = await release({
      api: [
        {
          service: 'ELBv2',
          operation: 'DescribeTargetHealth',
          folder: 'check-health',
          error: 'ThrottlingException',
          times: 3,
        },
      ],
    });
    expect(retried).toMatchObject({ outcome: 'Promoted', retries: 1 });
    // Before: the retry ran CheckHealth again but was not counted (the same count as the clean run).
    expect(retried.transitions).toBe((clean.transitions as number) + 1);
  });
});
