/**
 * Published prices (us-east-1) behind the cost figures the bench and the demo print. Step Functions:
 * aws.amazon.com/step-functions/pricing, read 2026-11-23; Lambda: aws.amazon.com/lambda/pricing,
 * us-east-1 Arm first tier (published rate, not re-read 2026-11-23).
 */
import { FUNCTION_MEMORY_MB } from '../infra/function-runtime.ts';

export const prices = {
  source:
    'Step Functions: aws.amazon.com/step-functions/pricing, read 2026-11-23; Lambda: aws.amazon.com/lambda/pricing, us-east-1 Arm first tier (published rate, not re-read 2026-11-23)',
  stateTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
};

/** Lambda's charge for `invocations` requests billed `billedMs` in all, at the functions' memory. */
export const lambdaCostUsd = (invocations: number, billedMs: number) =>
  invocations * prices.lambdaRequest +
  (billedMs / 1000) * (FUNCTION_MEMORY_MB / 1024) * prices.lambdaArmGbSecond;

/** Step Functions' charge for `transitions` state transitions (Standard workflows; retries count). */
export const transitionsCostUsd = (transitions: number) => transitions * prices.stateTransition;
