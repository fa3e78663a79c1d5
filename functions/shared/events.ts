/**
 * Switchyard's own events on its EventBridge bus: `Switchyard Release State Change`, one per state a
 * release reaches (Started, TrafficShifted, an outcome…), so other systems can follow releases
 * without polling: a promotion rule, a dashboard, an audit sink. Publishing is a notification
 * channel (notifications.ts): it never blocks or fails a release. PutEvents can accept a call and
 * still fail an entry (FailedEntryCount): a failed entry is sent again, then logged and counted.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Target } from './config.ts';

import { RELEASE_STATE_CHANGE, SWITCHYARD_SOURCE } from './event-patterns.ts';

export { RELEASE_STATE_CHANGE, SWITCHYARD_SOURCE };

export const ReleaseState = {
  Started: 'Started',
  TrafficShifted: 'TrafficShifted',
  Promoted: 'Promoted',
  Aborted: 'Aborted',
  RolledBack: 'RolledBack',
  RollbackFailed: 'RollbackFailed',
  Superseded: 'Superseded',
  /** Its execution ended unfinished; the recovery waits before it puts the target back (recovery.ts). */
  Recovering: 'Recovering',
  ApprovalRequested: 'ApprovalRequested',
  ApprovalDecided: 'ApprovalDecided',
  /** A Promoted release of a target others are promoted from stayed healthy for its soak (soak.ts). */
  SoakCompleted: 'SoakCompleted',
  /** Its soak saw an alarm, a rollback or another release: targets promoted from it refuse the image. */
  SoakFailed: 'SoakFailed',
} as const;
export type ReleaseState = (typeof ReleaseState)[keyof typeof ReleaseState];

/** What a step needs to publish: the client and the stack's bus (deps.ts reads it at init). */
export interface EventsDeps {
  events?: Pick<EventBridgeClient, 'send'>;
  /** The bus the stack made (env SWITCHYARD_EVENT_BUS); unset, nothing is published. */
  eventBus?: string;
  now?: () => Date;
}

/** The publish of one state change, or undefined where this step has no bus to publish on. */
export const statePublisher = (
  deps: EventsDeps,
  target: Pick<Target, 'name' | 'environment'>,
  releaseId: string,
  state: ReleaseState,
  extra: Record<string, unknown>,
): (() => Promise<void>) | undefined => {
  const { events, eventBus } = deps;
  if (!events || !eventBus) return undefined;
  const detail = stateDetail(target, releaseId, state, extra, deps.now?.() ?? new Date());
  return () => publishState(events, eventBus, detail);
};

/** How often a failed entry is sent again before it counts as a failed delivery. */
const ATTEMPTS = 3;
/**
 * The whole publish may take this long, retries included: a slow EventBridge must not hold a step
 * past its own timeout (the webhooks' channel has the same bound, http.ts).
 */
export const PUBLISH_DEADLINE_MS = 3000;
/** Entry errors worth sending again (PutEvents reference); the others would fail the same way. */
const RETRYABLE = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

/**
 * The detail of a state change: enough to act on without reading the release record. Delivery is
 * at least once and unordered (a retried step publishes again): `eventId` is the same for every
 * copy of one state change (`<release>:<state>[:<step>]`), so a consumer can drop duplicates.
 */
export const stateDetail = (
  target: Pick<Target, 'name' | 'environment'>,
  releaseId: string,
  state: ReleaseState,
  extra: Record<string, unknown>,
  at: Date,
) => ({
  version: 1,
  eventId: `${releaseId}:${state}${typeof extra.step === 'number' ? `:${extra.step}` : ''}`,
  state,
  releaseId,
  target: target.name,
  environment: target.environment,
  at: at.toISOString(),
  ...extra,
});

/** Publishes one state change, within PUBLISH_DEADLINE_MS; a failure throws (notify counts it). */
export const publishState = async (
  events: Pick<EventBridgeClient, 'send'>,
  busName: string,
  detail: Record<string, unknown>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<void> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`PutEvents did not answer within ${PUBLISH_DEADLINE_MS} ms`)),
      PUBLISH_DEADLINE_MS,
    );
  });
  try {
    await Promise.race([send(events, busName, detail, sleep), deadline]);
  } finally {
    clearTimeout(timer);
  }
};

const send = async (
  events: Pick<EventBridgeClient, 'send'>,
  busName: string,
  detail: Record<string, unknown>,
  sleep: (ms: number) => Promise<void>,
): Promise<void> => {
  let last = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: SWITCHYARD_SOURCE,
            DetailType: RELEASE_STATE_CHANGE,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    const entry = out.Entries?.[0];
    if (!out.FailedEntryCount && entry?.EventId) return;
    last = `${entry?.ErrorCode ?? 'failed'}: ${entry?.ErrorMessage ?? 'no message'}`;
    if (!RETRYABLE.has(entry?.ErrorCode ?? '')) {
      throw new Error(`PutEvents refused the ${String(detail.state)} event (${last})`);
    }
    if (attempt < ATTEMPTS) await sleep(200 * 2 ** attempt);
  }
  throw new Error(`PutEvents refused the ${String(detail.state)} event ${ATTEMPTS} times (${last})`);
};
