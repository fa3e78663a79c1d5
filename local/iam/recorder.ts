/**
 * Records, for every AWS call a function makes in the simulated account, what AWS would authorize:
 * the function, the IAM action and the resource. The IAM tier (`test/iam/`) checks each against the
 * function's role in the synthesized stack. Calls are counted, not kept: a scale run makes many.
 */
import { authorizationsOf, type IamRequest, type Lookups } from './authorization.ts';

export interface RecordedAuthorization extends IamRequest {
  /** The function folder that made the call. */
  by: string;
  /** How many calls needed this authorization. */
  calls: number;
  /** Set when the call could not be described (an operation the authorization table lacks). */
  problem?: string;
}

export class IamRecorder {
  private readonly seen = new Map<string, RecordedAuthorization>();

  constructor(
    private readonly env: { region: string; account: string },
    private readonly lookups: Lookups = {},
  ) {}

  /** Records a call of `service` (`ECS`, `DynamoDB`, …) by function `by`; calls from outside a function are not a role's. */
  record(by: string | undefined, service: string, operation: string, input: unknown) {
    if (!by) return;
    let requests: IamRequest[];
    try {
      requests = authorizationsOf(service, operation, input, this.env, this.lookups);
    } catch (error) {
      requests = [{ action: `${service}:${operation}`, resource: '?' }];
      this.add(by, requests[0] as IamRequest, (error as Error).message);
      return;
    }
    for (const request of requests) this.add(by, request);
  }

  private add(by: string, request: IamRequest, problem?: string) {
    const key = `${by}|${request.action}|${request.resource}|${JSON.stringify(request.context ?? {})}`;
    const entry = this.seen.get(key);
    if (entry) entry.calls++;
    else this.seen.set(key, { by, ...request, calls: 1, problem });
  }

  entries(): RecordedAuthorization[] {
    return [...this.seen.values()];
  }
}
