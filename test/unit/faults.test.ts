/**
 * The fault plan's matching (local/faults.ts): which call an armed fault fails.
 */
import { describe, expect, it } from 'vitest';
import { Faults } from '../../local/faults.ts';

describe('API faults', () => {
  it('a fault that names a resource fails only the call whose input names it, whichever comes first', () => {
    const faults = new Faults();
    faults.arm({
      api: [
        {
          service: 'ELBv2',
          operation: 'ModifyRule',
          resource: 'arn:rule/member',
          error: 'AccessDenied',
          times: 1,
        },
      ],
    });
    expect(faults.apiFault('ELBv2', 'ModifyRule', { RuleArn: 'arn:rule/primary' })).toBeUndefined();
    expect(faults.apiFault('ELBv2', 'ModifyRule', { RuleArn: 'arn:rule/member' })).toMatchObject({
      error: 'AccessDenied',
    });
    expect(faults.apiFault('ELBv2', 'ModifyRule', { RuleArn: 'arn:rule/member' })).toBeUndefined();
    expect(faults.fired).toEqual(['ELBv2.ModifyRule: AccessDenied']);
  });
});
