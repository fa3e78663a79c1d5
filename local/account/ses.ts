/**
 * Amazon SES (v2) as Switchyard uses it: SendEmail of approval emails. Modelled as AWS documents
 * it (docs.aws.amazon.com/ses/latest/dg/request-production-access.html and .../quotas.html, read
 * 2026-12-02): the From address must be a verified identity (the address, or its domain), and a new
 * account is in the sandbox, where every recipient must be verified too. The sandbox's sending rate
 * (1 message per second) is in rate-limits.ts. SES answers an unverified identity with
 * `MessageRejected` ("Email address is not verified…").
 */
import { awsError } from './errors.ts';

export interface SentEmail {
  from: string;
  to: string[];
  subject: string;
  body: string;
  tags: Record<string, string>;
  at: string;
}

// SES: "tag names and values can contain only ASCII letters, numbers, underscores and dashes".
const TAG = /^[A-Za-z0-9_-]{1,256}$/;

export class SesModel {
  readonly identities = new Set<string>();
  /** A new account's SES is in the sandbox: recipients must be verified too. */
  sandbox = true;
  readonly sent: SentEmail[] = [];
  private counter = 0;

  constructor(private readonly region: string) {}

  /** Verifies an email address or a domain (what an operator does in the SES console). */
  verify(identity: string) {
    this.identities.add(identity.toLowerCase());
  }

  private verified(address: string) {
    const lower = address.toLowerCase();
    return this.identities.has(lower) || this.identities.has(lower.split('@')[1] ?? '');
  }

  SendEmail(input: {
    FromEmailAddress?: string;
    Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
    Content?: { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string } } } };
    EmailTags?: { Name: string; Value: string }[];
  }) {
    const from = input.FromEmailAddress;
    if (!from) throw awsError('BadRequestException', 'FromEmailAddress is required', 400);
    const to = [
      ...(input.Destination?.ToAddresses ?? []),
      ...(input.Destination?.CcAddresses ?? []),
      ...(input.Destination?.BccAddresses ?? []),
    ];
    if (to.length === 0 || to.length > 50)
      throw awsError('BadRequestException', 'a message needs 1 to 50 recipients', 400);
    const failed = [from, ...(this.sandbox ? to : [])].filter((a) => !this.verified(a));
    if (failed.length > 0) {
      throw awsError(
        'MessageRejected',
        `Email address is not verified. The following identities failed the check in region ${this.region.toUpperCase()}: ${failed.join(', ')}`,
        400,
      );
    }
    for (const tag of input.EmailTags ?? []) {
      if (!TAG.test(tag.Name) || !TAG.test(tag.Value))
        throw awsError('BadRequestException', `invalid email tag ${tag.Name}=${tag.Value}`, 400);
    }
    this.sent.push({
      from,
      to,
      subject: input.Content?.Simple?.Subject?.Data ?? '',
      body: input.Content?.Simple?.Body?.Text?.Data ?? '',
      tags: Object.fromEntries((input.EmailTags ?? []).map((t) => [t.Name, t.Value])),
      at: new Date().toISOString(),
    });
    this.counter++;
    return { MessageId: `0100018c-0000-0000-0000-${String(this.counter).padStart(12, '0')}-000000` };
  }
}
