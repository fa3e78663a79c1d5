/**
 * Fault knobs of the simulated account. Each is counted down as it fires, so a test can say
 * "throttle the first 2 DescribeServices" or "drop the next ECS deployment event".
 */
export interface ApiFault {
  /** `ECS`, `ELBv2`, `RDS`, `ECR`, `SNS`, `SFN`. */
  service: string;
  /** SDK command name without `Command`, e.g. `DescribeServices`. */
  operation: string;
  /** AWS error code to answer with, e.g. `ThrottlingException`, `InternalFailure`. */
  error: string;
  /** HTTP status of the error (429/5xx make the SDK retry it). */
  status?: number;
  /** How many calls fail; the rest pass. */
  times: number;
  /** Let this many matching calls pass before failing. */
  after?: number;
}

export interface EventFault {
  /** EventBridge `detail-type` to act on. */
  detailType: string;
  action: 'drop' | 'duplicate';
  times: number;
}

export interface FaultPlan {
  api?: ApiFault[];
  events?: EventFault[];
  /** Image tags whose containers fail their HTTP health checks. */
  unhealthyTags?: string[];
  /**
   * Image tag → share of real requests its containers answer with 5xx while passing their health
   * checks (a bug only traffic shows; the target's alarms see it).
   */
  errorRates?: Record<string, number>;
}

export class Faults {
  private readonly api: Required<ApiFault>[];
  private readonly events: EventFault[];
  readonly unhealthyTags: Set<string>;
  readonly errorRates: Map<string, number>;
  /** What fired, for summaries and assertions. */
  readonly fired: string[] = [];

  constructor(plan: FaultPlan = {}) {
    this.api = (plan.api ?? []).map((f) => ({ status: 400, after: 0, ...f }));
    this.events = (plan.events ?? []).map((f) => ({ ...f }));
    this.unhealthyTags = new Set(plan.unhealthyTags ?? []);
    this.errorRates = new Map(Object.entries(plan.errorRates ?? {}));
  }

  /** The error to throw for this call, if a fault is armed for it. */
  apiFault(service: string, operation: string): Required<ApiFault> | undefined {
    const fault = this.api.find((f) => f.service === service && f.operation === operation && f.times > 0);
    if (!fault) return undefined;
    if (fault.after > 0) {
      fault.after--;
      return undefined;
    }
    fault.times--;
    this.fired.push(`${service}.${operation}: ${fault.error}`);
    return fault;
  }

  /** How many copies of this event to deliver: 0 (dropped), 1, or 2 (duplicated). */
  copies(detailType: string): number {
    const fault = this.events.find((f) => f.detailType === detailType && f.times > 0);
    if (!fault) return 1;
    fault.times--;
    this.fired.push(`${detailType}: ${fault.action}`);
    return fault.action === 'drop' ? 0 : 2;
  }
}
