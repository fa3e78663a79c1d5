/**
 * Simulated EventBridge PutEvents onto custom buses: what Switchyard publishes reaches the local
 * bus's rules as any AWS event does. Modelled from the PutEvents API reference: 1-10 entries per
 * call, at most 256 KB in all; an entry that names an unknown bus, has no source or detail type,
 * uses a reserved `aws.` source, or whose Detail is not a JSON object fails on its own (the call
 * succeeds with FailedEntryCount > 0), as AWS answers it.
 */
import type { EventBus } from '../bus.ts';
import { awsError } from './errors.ts';

interface Entry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
}

export class EventBridgeModel {
  readonly buses = new Set<string>(['default']);
  /** Every entry accepted, by bus (for tests and the demo). */
  readonly published: { bus: string; source: string; detailType: string; detail: Record<string, unknown> }[] =
    [];

  constructor(
    private readonly bus: EventBus,
    private readonly env: { region: string; account: string },
  ) {}

  addBus(name: string) {
    this.buses.add(name);
  }

  PutEvents(input: { Entries?: Entry[] }) {
    const entries = input.Entries ?? [];
    if (entries.length < 1 || entries.length > 10)
      throw awsError('ValidationException', 'Entries must have between 1 and 10 items.');
    if (Buffer.byteLength(JSON.stringify(entries)) > 256 * 1024)
      throw awsError('ValidationException', 'Total size of the entries in the request is over the limit.');
    const out = entries.map((e) => this.put(e));
    return { FailedEntryCount: out.filter((e) => 'ErrorCode' in e).length, Entries: out };
  }

  private put(entry: Entry): { EventId: string } | { ErrorCode: string; ErrorMessage: string } {
    const name = (entry.EventBusName ?? 'default').split(':event-bus/').at(-1) as string;
    if (!this.buses.has(name))
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${name} does not exist.` };
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined)
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter(s) Source, DetailType, Detail must be specified.',
      };
    if (entry.Source.startsWith('aws.'))
      return {
        ErrorCode: 'NotAuthorizedForSourceException',
        ErrorMessage: `Not authorized for the source ${entry.Source}.`,
      };
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail))
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    this.published.push({
      bus: name,
      source: entry.Source,
      detailType: entry.DetailType,
      detail: detail as Record<string, unknown>,
    });
    const event = this.bus.emit(
      entry.Source,
      entry.DetailType,
      entry.Resources ?? [],
      detail as Record<string, unknown>,
      name,
    );
    return { EventId: event.id };
  }

  /** The ARN of a bus, as IAM and the stack name it. */
  arnOf(name: string) {
    return `arn:aws:events:${this.env.region}:${this.env.account}:event-bus/${name}`;
  }
}
