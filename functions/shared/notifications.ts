/**
 * Release notifications on every channel a target configures: the SNS topic, a Slack incoming
 * webhook and a Microsoft Teams Workflows webhook (an Adaptive Card; Office 365 connectors are
 * retired). A channel that fails is logged and counted, never thrown: notifying must not change
 * the course of a release.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { slackText, teamsText } from './channel-text.ts';
import type { Target } from './config.ts';
import { type EventsDeps, type ReleaseState, statePublisher } from './events.ts';
import { post } from './http.ts';
import { logger } from './logger.ts';
import { noticeKind, routed } from './routing.ts';
import { secretString } from './secrets.ts';
import type { Store } from './store.ts';
import type { Weights } from './traffic.ts';
import { type Colour, otherColour } from './vocabulary.ts';

export interface ReleaseNotice {
  releaseId: string;
  /** `started`, `step`, an outcome (`Promoted`, `Aborted`, `RolledBack`, …). */
  event: string;
  subject: string;
  lines: string[];
  /** The state change published on Switchyard's bus with it (events.ts), if this notice is one. */
  state?: { name: ReleaseState; detail?: Record<string, unknown> };
}

/** A step without `events` and `eventBus` (events.ts) publishes nothing on Switchyard's bus. */
export interface NotifyDeps extends EventsDeps {
  sns: Pick<SNSClient, 'send'>;
  secrets: Pick<SecretsManagerClient, 'send'>;
  store: Pick<Store, 'countNotificationFailures'>;
}

export interface Delivery {
  delivered: string[];
  failed: { channel: string; error: string }[];
}

/**
 * The webhook URL, read on every notice: a handful of reads per release, and a rotated or revoked
 * URL takes effect at once (no cache to outlive it).
 */
const webhookUrl = async (deps: Pick<NotifyDeps, 'secrets'>, secretId: string) => {
  const value = await secretString(deps.secrets, secretId);
  if (!/^https?:\/\//.test(value)) throw new Error(`secret ${secretId} does not hold a webhook URL`);
  return value;
};

export const slackPayload = (target: Target, notice: ReleaseNotice) => ({
  text: notice.subject,
  blocks: [
    { type: 'header', text: { type: 'plain_text', text: slackText(notice.subject).slice(0, 150) } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: notice.lines.map(slackText).join('\n').slice(0, 3000) },
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: slackText(`${target.name} (${target.environment}) · release ${notice.releaseId}`),
        },
      ],
    },
  ],
});

export const teamsPayload = (target: Target, notice: ReleaseNotice) => ({
  type: 'message',
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: '1.4',
        body: [
          {
            type: 'TextBlock',
            size: 'Medium',
            weight: 'Bolder',
            wrap: true,
            text: teamsText(notice.subject),
          },
          ...notice.lines.map((text) => ({ type: 'TextBlock', wrap: true, text: teamsText(text) })),
          {
            type: 'FactSet',
            facts: [
              { title: 'Target', value: teamsText(`${target.name} (${target.environment})`) },
              { title: 'Release', value: teamsText(notice.releaseId) },
              { title: 'Event', value: teamsText(notice.event) },
            ],
          },
        ],
      },
    },
  ],
});

/** One traffic step, as ShiftTraffic reports it (its output). */
export interface StepReport {
  step: number;
  stepCount: number;
  percent: number;
  bakeSeconds: number;
  last: boolean;
  weights: Weights;
}

/** The notice for a verified traffic step: sent as its bake begins (or at once, with no bake). */
export const stepNotice = (
  target: Target,
  releaseId: string,
  toColour: Colour,
  s: StepReport,
): ReleaseNotice => ({
  releaseId,
  event: 'step',
  state: {
    name: 'TrafficShifted',
    detail: { percent: s.percent, step: s.step + 1, stepCount: s.stepCount, toColour, weights: s.weights },
  },
  subject: `[switchyard] ${target.name} (${target.environment}): ${s.percent}% on ${toColour}`,
  lines: [
    `Step ${s.step + 1}/${s.stepCount} of ${releaseId}: ${s.percent}% of traffic on ${toColour}, verified (blue=${s.weights.blue} green=${s.weights.green}).`,
    s.bakeSeconds > 0
      ? `${s.last ? `${otherColour(toColour)} stays warm` : 'Baking'} for ${Math.round(s.bakeSeconds / 60)} min${target.alarms.length ? `, watching ${target.alarms.join(', ')}` : ''}.`
      : 'No bake.',
  ],
});

/** A step held back by a freeze window while traffic is split: what stays, what is watched. */
export const freezeNotice = (
  target: Target,
  releaseId: string,
  toColour: Colour,
  hold: { window: string; traffic: Pick<StepReport, 'step' | 'stepCount' | 'percent' | 'bakeSeconds'> },
): ReleaseNotice => ({
  releaseId,
  event: 'step',
  subject: `[switchyard] ${target.name} (${target.environment}): frozen at ${hold.traffic.percent}% on ${toColour}`,
  lines: [
    `Step ${hold.traffic.step + 1}/${hold.traffic.stepCount} of ${releaseId} is held by freeze window "${hold.window}" for ${Math.round(hold.traffic.bakeSeconds / 60)} min; ${hold.traffic.percent}% of traffic stays on ${toColour}.`,
    target.alarms.length
      ? `Still watching ${target.alarms.join(', ')}: an alarm rolls back at once. A rollback may be started during the freeze (recorded as break-glass).`
      : `No alarms are configured to watch during the hold; ${toColour}'s target health is still watched.`,
  ],
});

/** Posts a Slack message (Block Kit) to the webhook whose URL `secretId` holds. */
export const postSlack = async (deps: Pick<NotifyDeps, 'secrets'>, secretId: string, body: unknown) =>
  post(await webhookUrl(deps, secretId), body);

/** Sends `notice` on every channel of `target`; returns what was delivered and what failed. */
export const notify = async (deps: NotifyDeps, target: Target, notice: ReleaseNotice): Promise<Delivery> => {
  // Per channel, only the notices it asked for (notify.events); the bus always gets every state.
  const kind = noticeKind(notice);
  const wants = (channel: 'sns' | 'slack' | 'teams') => routed(target.notify.events, channel, kind);
  const channels: [string, () => Promise<unknown>][] = [];
  if (wants('sns'))
    channels.push([
      'sns',
      () =>
        deps.sns.send(
          new PublishCommand({
            TopicArn: target.notify.sns,
            Subject: notice.subject.slice(0, 99),
            Message: notice.lines.join('\n'),
            MessageAttributes: {
              event: { DataType: 'String', StringValue: notice.event },
              target: { DataType: 'String', StringValue: target.name },
              releaseId: { DataType: 'String', StringValue: notice.releaseId },
            },
          }),
        ),
    ]);
  const publish =
    notice.state &&
    statePublisher(deps, target, notice.releaseId, notice.state.name, notice.state.detail ?? {});
  if (publish) channels.push(['eventbridge', publish]);
  const slack = target.notify.slackWebhookSecret;
  if (slack && wants('slack'))
    channels.push(['slack', async () => post(await webhookUrl(deps, slack), slackPayload(target, notice))]);
  const teams = target.notify.teamsWebhookSecret;
  if (teams && wants('teams'))
    channels.push(['teams', async () => post(await webhookUrl(deps, teams), teamsPayload(target, notice))]);

  const results = await Promise.allSettled(channels.map(([, send]) => send()));
  const delivery: Delivery = { delivered: [], failed: [] };
  results.forEach((result, i) => {
    const channel = channels[i]?.[0] ?? '?';
    if (result.status === 'fulfilled') delivery.delivered.push(channel);
    else delivery.failed.push({ channel, error: (result.reason as Error).message });
  });
  if (delivery.failed.length > 0) {
    // The stack's metric filter counts these lines; the release record keeps the count.
    logger.warn('notification failed', {
      releaseId: notice.releaseId,
      event: notice.event,
      failed: delivery.failed,
    });
    try {
      await deps.store.countNotificationFailures(notice.releaseId, delivery.failed.length);
    } catch (error) {
      logger.warn('could not count notification failures', { error: error as Error });
    }
  }
  return delivery;
};
