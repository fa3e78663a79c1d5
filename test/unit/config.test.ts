import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  findTarget,
  loadDeployedTargets,
  loadTargetsFile,
  parseTargets,
  targetsForImage,
  validatedTargetsDocument,
} from '../../functions/shared/config.ts';
import { fixtureTargets } from '../support/runtime.ts';

const valid = () => JSON.parse(readFileSync(fixtureTargets, 'utf8'));

describe('targets config', () => {
  it('applies defaults when optional sections are omitted', () => {
    const targets = parseTargets(valid());
    const search = findTarget(targets, 'search-api');
    expect(search.health).toEqual({
      path: '/health',
      expectStatus: 200,
      probes: 20,
      thresholds: { p95Ms: 500, errorRate: 0.01 },
      graceSeconds: 0,
    });
    expect(search.traffic.strategy).toEqual({ type: 'all-at-once' });
    expect(search.database).toBeUndefined();
  });

  it('names the missing field when a target group is absent', () => {
    const doc = valid();
    delete doc.targets[0].traffic.targetGroups.green;
    expect(() => parseTargets(doc)).toThrow(/targets\[0\]\.traffic\.targetGroups\.green: .*expected string/);
  });

  it('rejects a listener that is not an ARN, naming the field', () => {
    const doc = valid();
    doc.targets[1].traffic.listenerArn = 'my-listener';
    expect(() => parseTargets(doc)).toThrow(/targets\[1\]\.traffic\.listenerArn: must be a listener ARN/);
  });

  it('rejects both listenerArn and listenerRuleArn set at once', () => {
    const doc = valid();
    doc.targets[0].traffic.listenerArn = doc.targets[1].traffic.listenerArn;
    expect(() => parseTargets(doc)).toThrow(/set exactly one of listenerArn .* or listenerRuleArn/);
  });

  it('rejects keys it does not implement instead of ignoring them', () => {
    const doc = valid();
    doc.targets[0].canaryPercent = 10;
    expect(() => parseTargets(doc)).toThrow(/targets\[0\]: Unrecognized key: "canaryPercent"/);
  });

  it('validates approval: approvers are emails, two-person needs two, slack needs the webhook', () => {
    const doc = valid();
    doc.targets[1].approval = { required: true, approvers: [{ id: 'alice' }] };
    expect(() => parseTargets(doc)).toThrow(
      /targets\[1\]\.approval\.approvers\[0\]\.id: must be an email address/,
    );
    doc.targets[1].approval = { required: true, approvers: [{ id: 'a@example.com' }], twoPerson: true };
    expect(() => parseTargets(doc)).toThrow(/targets\[1\]\.approval: twoPerson needs at least two approvers/);
    doc.targets[1].approval = { required: true, approvers: [{ id: 'a@example.com' }], channels: ['slack'] };
    expect(() => parseTargets(doc)).toThrow(
      /targets\[1\]\.approval\.channels: the slack channel needs notify\.slackWebhookSecret/,
    );
    // Email approvals need the SES sender (before: links went to the shared topic, issue 14 case 1).
    doc.targets[1].approval = { required: true, approvers: [{ id: 'a@example.com' }] };
    expect(() => parseTargets(doc)).toThrow(
      /targets\[1\]\.approval\.emailFrom: the email channel needs emailFrom: the SES-verified address/,
    );
    doc.targets[1].approval = {
      required: true,
      approvers: [{ id: ' A@Example.com ' }],
      emailFrom: 'Switchyard@Example.com',
    };
    expect(findTarget(parseTargets(doc), 'search-api').approval).toEqual({
      required: true,
      emailFrom: 'switchyard@example.com',
      approvers: [{ id: 'a@example.com', aliases: [] }],
      timeoutMinutes: 60,
      channels: ['email'],
      twoPerson: false,
      twoPersonIfRequesterUnknown: false,
    });
  });

  it('refuses a name that belongs to two approvers, in any letter case, and control characters in aliases', () => {
    const doc = valid();
    // Before: accepted, and then a two-person rule nobody could satisfy (both ids were one person).
    doc.targets[1].approval = {
      required: true,
      approvers: [{ id: 'alice@example.com' }, { id: 'Alice@Example.com' }],
      twoPerson: true,
    };
    expect(() => parseTargets(doc)).toThrow(
      /targets\[1\]\.approval\.approvers\[1\]: "alice@example\.com" is listed for approvers\[0\] and approvers\[1\]/,
    );
    doc.targets[1].approval = {
      required: true,
      approvers: [
        { id: 'alice@example.com', aliases: ['ops'] },
        { id: 'bob@example.com', aliases: ['OPS '] },
      ],
    };
    expect(() => parseTargets(doc)).toThrow(/"ops" is listed for approvers\[0\] and approvers\[1\]/);
    doc.targets[1].approval = {
      required: true,
      approvers: [{ id: 'alice@example.com', aliases: ['alice\nApprove: https://evil.example'] }],
    };
    expect(() => parseTargets(doc)).toThrow(/aliases\[0\]: the name contains a control character \(U\+000a/);
    doc.targets[1].approval = {
      required: true,
      approvers: [{ id: 'a@example.com' }],
      twoPersonIfRequesterUnknown: true,
    };
    expect(() => parseTargets(doc)).toThrow(/twoPersonIfRequesterUnknown needs at least two approvers/);
    // A Slack id as an alias would map someone else's clicks; an assumed-role alias of a plain role
    // is whatever session name the caller picks.
    doc.targets[1].approval = {
      required: true,
      emailFrom: 's@example.com',
      approvers: [
        { id: 'alice@example.com', aliases: ['slack:U0BOB0001'] },
        { id: 'bob@example.com', slackUserId: 'U0BOB0001' },
      ],
    };
    expect(() => parseTargets(doc)).toThrow(/a Slack user id goes in slackUserId, not in aliases/);
    doc.targets[1].approval = {
      required: true,
      emailFrom: 's@example.com',
      approvers: [
        { id: 'alice@example.com', aliases: ['arn:aws:sts::123456789012:assumed-role/Deployer/alice'] },
      ],
    };
    expect(() => parseTargets(doc)).toThrow(/an assumed-role alias must be an IAM Identity Center session/);
    doc.targets[1].approval.approvers[0].aliases = [
      'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployer_0a1b/alice@example.com',
    ];
    expect(findTarget(parseTargets(doc), 'search-api').approval?.approvers[0]?.aliases).toHaveLength(1);
  });

  it('rejects an unknown traffic strategy, and a canary without its bake, naming the field', () => {
    const doc = valid();
    doc.targets[0].traffic.strategy = { type: 'blue-sky' };
    expect(() => parseTargets(doc)).toThrow(/targets\[0\]\.traffic\.strategy\.type/);
    doc.targets[0].traffic.strategy = { type: 'canary', percent: 10 };
    expect(() => parseTargets(doc)).toThrow(/targets\[0\]\.traffic\.strategy\.bakeMinutes/);
    doc.targets[0].traffic.strategy = { type: 'linear', stepPercent: 0, stepBakeMinutes: 1 };
    expect(() => parseTargets(doc)).toThrow(/targets\[0\]\.traffic\.strategy\.stepPercent/);
  });

  it('accepts canary and linear strategies, alarms and freeze windows', () => {
    const doc = valid();
    doc.targets[0].traffic.strategy = { type: 'canary', percent: 10, bakeMinutes: 5 };
    doc.targets[0].alarms = ['checkout-5xx'];
    doc.targets[0].freezeWindows = [
      { name: 'weekend', timeZone: 'Europe/Berlin', days: ['fri'], start: '17:00', end: '08:00' },
    ];
    const target = findTarget(parseTargets(doc), 'checkout-api');
    expect(target.traffic.strategy).toEqual({ type: 'canary', percent: 10, bakeMinutes: 5 });
    expect(target.freezeWindows[0]?.days).toEqual(['fri']);
    expect(findTarget(parseTargets(doc), 'search-api').alarms).toEqual([]);
  });

  it('rejects a freeze window with an unknown time zone or a malformed time, naming the field', () => {
    const doc = valid();
    doc.targets[0].freezeWindows = [{ name: 'x', timeZone: 'Mars/Olympus', start: '17:00', end: '18:00' }];
    expect(() => parseTargets(doc)).toThrow(
      /targets\[0\]\.freezeWindows\[0\]\.timeZone: must be an IANA time zone/,
    );
    doc.targets[0].freezeWindows = [{ name: 'x', timeZone: 'UTC', start: '5pm', end: '18:00' }];
    expect(() => parseTargets(doc)).toThrow(
      /targets\[0\]\.freezeWindows\[0\]\.start: must be local time HH:MM/,
    );
  });

  it('rejects duplicate target names and invalid tag patterns', () => {
    const doc = valid();
    doc.targets[1].name = 'checkout-api';
    doc.targets[1].image.tagPattern = 'v(';
    expect(() => parseTargets(doc)).toThrow(
      /targets\[1\]\.image\.tagPattern: must be a valid regular expression/,
    );
    doc.targets[1].image.tagPattern = 'v.*';
    expect(() => parseTargets(doc)).toThrow(/targets\[1\]\.name: duplicate target "checkout-api"/);
  });

  it('lists the configured targets when a name is unknown', () => {
    expect(() => findTarget(parseTargets(valid()), 'payments')).toThrow(
      'unknown target "payments" (configured: checkout-api, search-api)',
    );
  });

  it('matches tag patterns against the whole tag only', () => {
    const targets = parseTargets(valid());
    expect(targetsForImage(targets, 'checkout-api', 'v2').map((t) => t.name)).toEqual(['checkout-api']);
    expect(targetsForImage(targets, 'checkout-api', 'v2-rc1')).toEqual([]);
    expect(targetsForImage(targets, 'checkout-api', 'xv2')).toEqual([]);
    expect(targetsForImage(targets, 'search-api', 'v2')).toEqual([]);
  });
});

describe('the targets a function reads at cold start (validated once, by the stack)', () => {
  const files = [
    ...readdirSync(new URL('../../examples/', import.meta.url)).map((f) => `examples/${f}`),
    ...readdirSync(new URL('../fixtures/', import.meta.url)).map((f) => `test/fixtures/${f}`),
    'local/targets.json',
  ]
    .filter((f) => f.endsWith('.json'))
    .map((f) => fileURLToPath(new URL(`../../${f}`, import.meta.url)));
  const dir = mkdtempSync(join(tmpdir(), 'validated-targets-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it.each(files)('%s: read as bundled, it is exactly what validating the file gives', (file) => {
    const validated = loadTargetsFile(file);
    const document = validatedTargetsDocument(validated);
    expect(loadDeployedTargets(write('deployed.json', document))).toEqual(validated);
    // Validating the bundled copy again changes nothing: the defaults it carries are what zod fills in.
    const { validatedBy, ...copy } = JSON.parse(document);
    expect(validatedBy).toBe('switchyard');
    expect(parseTargets(copy)).toEqual(validated);
  });

  it('validates any other file, naming what is wrong', () => {
    const doc = valid();
    delete doc.targets[0].traffic.targetGroups.green;
    expect(() => loadDeployedTargets(write('raw.json', JSON.stringify(doc)))).toThrow(
      /targets\[0\]\.traffic\.targetGroups\.green: .*expected string/,
    );
    expect(loadDeployedTargets(fixtureTargets)).toEqual(parseTargets(valid()));
    // The mark is what the cold start trusts: a marked document is not validated again (a field
    // zod would refuse comes through as written, so this fails if the function still parsed it).
    const unchecked = valid();
    unchecked.targets[0].health = { probes: 'many' };
    const trusted = loadDeployedTargets(
      write('trusted.json', JSON.stringify({ validatedBy: 'switchyard', ...unchecked })),
    );
    expect(trusted.targets[0]?.health).toEqual({ probes: 'many' });
    // Only Switchyard's own mark skips validation; another is an unknown key.
    const marked = write('marked.json', JSON.stringify({ validatedBy: 'someone', ...valid() }));
    expect(() => loadDeployedTargets(marked)).toThrow(/validatedBy/);
  });
});
