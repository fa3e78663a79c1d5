/**
 * The local EventBridge: the simulated account emits AWS-shaped events, rules (the same patterns
 * the CDK stack deploys) route them to Lambda handlers after a delivery delay, a failed function is
 * retried as Lambda retries an asynchronous invocation, and the fault knobs may drop or duplicate an
 * event.
 */
import { type EventPattern, matches } from '../functions/shared/event-patterns.ts';
import { ASYNC_RETRY_DELAYS_MS, EVENT_EXPIRED } from './execution-environments.ts';
import type { Faults } from './faults.ts';
import type { Random } from './rng.ts';

export interface AwsEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface Rule {
  name: string;
  /** The bus the rule is on: AWS services' events arrive on `default`; PutEvents names its bus. */
  bus?: string;
  pattern: EventPattern;
  /**
   * `firstAt`: when the first attempt reached the target. A Lambda target counts an event's age from
   * then (Lambda accepted it), across the attempts after a function error.
   */
  deliver: (event: AwsEvent, firstAt: number) => Promise<unknown>;
}

export interface Delivery {
  rule: string;
  event: AwsEvent;
  /** Virtual milliseconds this attempt reached the rule's target. */
  at: number;
  attempts: number;
  ok: boolean;
  error?: string;
  /** What the rule's target answered (a Lambda's result), for tests. */
  result?: unknown;
}

/**
 * Every rule's target is a Lambda function, invoked asynchronously: once Lambda has the event, a
 * function error is retried by Lambda's own policy (ASYNC_RETRY_DELAYS_MS), then the event goes to
 * the dead-letter queue. A throttled attempt waits in Lambda's queue (LocalLambda.invokeAsync) and
 * is not an error here; one that waited past its maximum age is dead-lettered too.
 */
export class EventBus {
  private readonly rules: Rule[] = [];
  readonly emitted: AwsEvent[] = [];
  /** Event id → virtual milliseconds it was emitted (an event's `time` has whole seconds only). */
  readonly emittedAt = new Map<string, number>();
  readonly deliveries: Delivery[] = [];
  /** Deliveries that failed every attempt (what a DLQ would hold). */
  readonly deadLetters: Delivery[] = [];
  private listeners: ((event: AwsEvent) => void)[] = [];
  /** Deliveries scheduled or retrying, not yet finished. */
  inFlight = 0;

  constructor(
    private readonly random: Random,
    private readonly faults: Faults,
    private readonly envelope: { account: string; region: string },
  ) {}

  addRule(rule: Rule) {
    this.rules.push(rule);
  }

  onEmit(listener: (event: AwsEvent) => void) {
    this.listeners.push(listener);
  }

  /** Emits an event now; matching rules receive it 0.3–1.5 s later (best effort, like AWS). */
  emit(
    source: string,
    detailType: string,
    resources: string[],
    detail: Record<string, unknown>,
    bus = 'default',
  ): AwsEvent {
    const event: AwsEvent = {
      version: '0',
      id: this.random.uuid(),
      'detail-type': detailType,
      source,
      account: this.envelope.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.envelope.region,
      resources,
      detail,
    };
    this.emitted.push(event);
    this.emittedAt.set(event.id, Date.now());
    for (const listener of this.listeners) listener(event);
    const { count, delayMs } = this.faults.copies(detailType);
    // AWS publishes no delivery latency for service events (docs.aws.amazon.com/eventbridge/latest/
    // userguide/eb-service-event-delivery-level.html says only "best effort" or "durable"). 0.3-1.5 s
    // per event, uniform, is this model's assumption: not a measured figure, and deliberately not a
    // fast one. The bench counts it as AWS's time and prints it apart (bench.ts floorOf).
    for (const rule of this.rules.filter((r) => (r.bus ?? 'default') === bus && matches(r.pattern, event))) {
      for (let copy = 0; copy < count; copy++) {
        this.inFlight++;
        setTimeout(
          () => void this.deliver(rule, event, 1),
          delayMs + this.random.int(300, 1500) + copy * 200,
        );
      }
    }
    return event;
  }

  /** Delivers an event straight to a rule's target, as a test or `aws events put-events` would. */
  async put(event: AwsEvent): Promise<void> {
    this.emitted.push(event);
    const rules = this.rules.filter((r) => matches(r.pattern, event));
    this.inFlight += rules.length;
    await Promise.all(rules.map((r) => this.deliver(r, event, 1)));
  }

  /** When `event` first reached `rule`'s target in an attempt that succeeded (virtual ms). */
  deliveredAt(eventId: string, rule: string): number | undefined {
    return this.deliveries.find((d) => d.ok && d.rule === rule && d.event.id === eventId)?.at;
  }

  private async deliver(rule: Rule, event: AwsEvent, attempt: number, firstAt = Date.now()): Promise<void> {
    const at = Date.now();
    try {
      const result = await rule.deliver(event, firstAt);
      if (result === EVENT_EXPIRED) {
        // Lambda discarded it, too old: never delivered, and on the dead-letter queue.
        const expired: Delivery = {
          rule: rule.name,
          event,
          at,
          attempts: attempt,
          ok: false,
          error: 'the event expired in Lambda’s queue',
        };
        this.deliveries.push(expired);
        this.deadLetters.push(expired);
      } else this.deliveries.push({ rule: rule.name, event, at, attempts: attempt, ok: true, result });
      this.inFlight--;
    } catch (error) {
      const failed: Delivery = {
        rule: rule.name,
        event,
        at,
        attempts: attempt,
        ok: false,
        error: (error as Error).message,
      };
      this.deliveries.push(failed);
      const delay = ASYNC_RETRY_DELAYS_MS[attempt - 1];
      if (delay === undefined) {
        this.deadLetters.push(failed);
        this.inFlight--;
        return;
      }
      setTimeout(() => void this.deliver(rule, event, attempt + 1, firstAt), delay);
    }
  }
}
