/**
 * Simulated CloudWatch Logs: log groups and streams, written by tasks' awslogs drivers, read with
 * GetLogEvents (CloudWatch Logs API reference: an unknown group or stream is
 * ResourceNotFoundException; at most 10,000 events per answer; `startFromHead` false, the default,
 * returns the newest events).
 */
import { notFound } from './errors.ts';

interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export class LogsModel {
  private readonly groups = new Map<string, Map<string, LogEvent[]>>();

  /**
   * `lagMs` is how long after a line is written it can be read: the awslogs driver sends in batches
   * and CloudWatch Logs ingests behind it (neither documents a bound; seconds is what users see).
   */
  constructor(private readonly lagMs: () => number = () => 0) {}

  addLogGroup(name: string) {
    if (!this.groups.has(name)) this.groups.set(name, new Map());
  }

  /** The awslogs driver writes lines to `stream` (created on first write, as the driver does). */
  write(group: string, stream: string, lines: string[]) {
    const streams = this.groups.get(group);
    // A missing group makes the task fail to start in AWS; the ECS model checks this before writing.
    if (!streams) return;
    const events = streams.get(stream) ?? [];
    streams.set(stream, events);
    const now = Date.now();
    const ingested = now + this.lagMs();
    for (const message of lines) events.push({ timestamp: now, message, ingestionTime: ingested });
  }

  hasGroup(name: string): boolean {
    return this.groups.has(name);
  }

  GetLogEvents(input: {
    logGroupName?: string;
    logStreamName: string;
    startFromHead?: boolean;
    limit?: number;
  }) {
    const streams = this.groups.get(input.logGroupName ?? '');
    if (!streams) throw notFound('ResourceNotFoundException', 'The specified log group does not exist.');
    const now = Date.now();
    const events = streams.get(input.logStreamName)?.filter((e) => e.ingestionTime <= now);
    if (!events) throw notFound('ResourceNotFoundException', 'The specified log stream does not exist.');
    const limit = Math.min(input.limit ?? 10_000, 10_000);
    const page = input.startFromHead ? events.slice(0, limit) : events.slice(-limit);
    return {
      events: structuredClone(page),
      nextForwardToken: `f/${events.length}`,
      nextBackwardToken: `b/${Math.max(0, events.length - page.length)}`,
    };
  }
}
