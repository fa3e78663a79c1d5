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

  it('finds the resource in a list or a nested field of the input', () => {
    const faults = new Faults({
      api: [
        {
          service: 'ECS',
          operation: 'DescribeServices',
          resource: 'api-green',
          error: 'Throttling',
          times: 2,
        },
      ],
    });
    expect(
      faults.apiFault('ECS', 'DescribeServices', { cluster: 'prod', services: ['api-blue'] }),
    ).toBeUndefined();
    expect(
      faults.apiFault('ECS', 'DescribeServices', { cluster: 'prod', services: ['api-green'] }),
    ).toBeDefined();
    expect(
      faults.apiFault('ECS', 'DescribeServices', { filter: { names: ['x', 'api-green'] } }),
    ).toBeDefined();
  });
});
