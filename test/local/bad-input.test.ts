/**
 * Bad input at every entry point, table-driven: the ECR push event, a manual start, the CLI's
 * arguments, the targets config, approval links and Slack payloads. Malformed JSON, missing
 * fields, wrong types, oversized values, unknown targets and injection-looking strings each get an
 * error that names what is wrong; nothing starts, nothing is decided, nothing is left half-done.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadTargetsFile } from '../../functions/shared/config.ts';
import { releaseRequest } from '../../functions/shared/requests.ts';
import { approvalsOf, clickSlackButton, http } from '../../local/approver.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { type ApprovalWorld, parkedRelease, startApprovalWorld } from '../support/approval-world.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const digest = `sha256:${'ab'.repeat(32)}`;
let w: ApprovalWorld;
const tmp = mkdtempSync(join(tmpdir(), 'switchyard-bad-input-'));

beforeAll(async () => {
  w = await startApprovalWorld();
});
afterAll(async () => {
  await w?.rt.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** Nothing moved: no execution started since `before`, no ECS or ELB write, traffic on blue. */
const nothingHappened = (executionsBefore: number, callsBefore: Map<string, number>) => {
  expect(w.rt.executions()).toHaveLength(executionsBefore);
  for (const write of [
    'ECS.UpdateService',
    'ELBv2.ModifyRule',
    'ELBv2.ModifyListener',
    'RDS.CreateDBSnapshot',
  ]) {
    expect(w.rt.account.calls.get(write) ?? 0, write).toBe(callsBefore.get(write) ?? 0);
  }
  expect(liveWeights(w.rt, w.orders)).toEqual({ blue: 100, green: 0 });
};

const pushEvent = (detail: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'e-1',
  source: 'aws.ecr',
  'detail-type': 'ECR Image Action',
  account: '123456789012',
  time: '2026-01-05T09:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    'action-type': 'PUSH',
    result: 'SUCCESS',
    'repository-name': 'orders-api',
    'image-digest': digest,
    'image-tag': 'v2',
    ...detail,
  },
  ...top,
});

describe('the ECR push event (start-release)', () => {
  it.each([
    ['no detail', { ...pushEvent({}), detail: undefined }, /detail: Invalid input: expected object/],
    [
      'digest of the wrong type',
      pushEvent({ 'image-digest': 42 }),
      /detail\.image-digest: Invalid input: expected string/,
    ],
    [
      'a malformed digest',
      pushEvent({ 'image-digest': 'sha256:xyz' }),
      /detail\.image-digest: must be sha256:<64 hex digits>/,
    ],
    ['an oversized tag', pushEvent({ 'image-tag': 'v'.repeat(129) }), /detail\.image-tag: Too big/],
    ['another source', pushEvent({}, { source: 'evil.ecr' }), /source: Invalid input: expected "aws.ecr"/],
    ['no time', pushEvent({}, { time: 'yesterday' }), /time: Invalid ISO datetime/],
  ])('%s → InvalidInput naming the field, nothing starts', async (_, event, message) => {
    const before = w.rt.executions().length;
    const calls = new Map(w.rt.account.calls);
    await expect(w.rt.until(w.rt.invoke('start-release', event))).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(message),
    });
    nothingHappened(before, calls);
  });

  it.each([
    ['an unknown repository', pushEvent({ 'repository-name': 'nope' }), 'no target releases nope:v2'],
    [
      'a tag like a shell command',
      pushEvent({ 'image-tag': 'v2;rm -rf /' }),
      'tag "v2;rm -rf /" is not a valid image tag',
    ],
    [
      'a tag like a substitution',
      pushEvent({ 'image-tag': '$(curl evil)' }),
      'tag "$(curl evil)" is not a valid image tag',
    ],
    [
      'a tag outside the pattern',
      pushEvent({ 'image-tag': 'latest' }),
      'no target releases orders-api:latest',
    ],
    ['an untagged push', pushEvent({ 'image-tag': undefined }), 'untagged push'],
  ])('%s → ignored with the reason, nothing starts', async (_, event, reason) => {
    const before = w.rt.executions().length;
    const calls = new Map(w.rt.account.calls);
    const out = (await w.rt.until(w.rt.invoke('start-release', event))) as {
      ignored?: string;
      started: unknown[];
    };
    expect(out.started).toEqual([]);
    expect(out.ignored).toContain(reason);
    nothingHappened(before, calls);
  });
});

describe('a manual start (the release state machine input)', () => {
  const start = async (input: unknown, name: string) => {
    const before = w.rt.executions().length;
    const calls = new Map(w.rt.account.calls);
    w.rt.sfn.StartExecution({
      stateMachineArn: w.rt.releaseStateMachineArn,
      name,
      input: JSON.stringify(input),
    });
    await w.rt.settle();
    const execution = w.rt.executions().find((e) => e.name === name);
    // The execution is recorded as started, but it changed nothing and holds nothing.
    expect(w.rt.executions()).toHaveLength(before + 1);
    for (const write of ['ECS.UpdateService', 'ELBv2.ModifyRule', 'RDS.CreateDBSnapshot']) {
      expect(w.rt.account.calls.get(write) ?? 0, write).toBe(calls.get(write) ?? 0);
    }
    expect(await w.rt.until(w.rt.store.getLock('orders-api'))).toBeUndefined();
    return execution;
  };
  const valid = releaseRequest({
    target: 'orders-api',
    image: { repository: 'orders-api', tag: 'v2', digest },
    at: new Date('2026-01-05T09:00:00Z'),
  }).input;

  it('an empty input → the execution fails at once (not a routine outcome: no release began), naming the field', async () => {
    const execution = await start({}, 'bad-an-empty-input');
    expect(execution?.status).toBe('FAILED');
    expect(`${execution?.error}: ${execution?.cause}`).toMatch(/releaseId|target/);
  });

  it.each([
    [
      'an unknown target',
      { ...valid, target: 'nope-api' },
      /unknown target "nope-api" \(configured: orders-api, ledger-api\)/,
    ],
    ['a malformed digest', { ...valid, image: { ...valid.image, digest: 'md5:1' } }, /image\.digest/],
    [
      'a tag like a shell command',
      { ...valid, image: { ...valid.image, tag: 'v2 && curl evil' } },
      /image\.tag/,
    ],
    ['an oversized release id', { ...valid, releaseId: 'x'.repeat(300) }, /releaseId/],
  ])(
    '%s → the release ends Aborted, its error naming the field, having changed nothing',
    async (what, input, message) => {
      const execution = await start(input, `bad-${what.replace(/\W+/g, '-')}`);
      // A routine outcome is a succeeded execution whose output says what happened.
      expect(execution?.status).toBe('SUCCEEDED');
      const output = JSON.parse(execution?.output ?? '{}');
      expect(output.outcome).toBe('Aborted');
      expect(`${output.error?.Error}: ${output.error?.Cause}`).toMatch(message);
    },
  );
});

describe('the targets config', () => {
  const file = (name: string, text: string) => {
    const path = join(tmp, name);
    writeFileSync(path, text);
    return path;
  };
  const good = loadTargetsFile(join(root, 'test/fixtures/targets.json')).targets[1];
  const withTarget = (change: Record<string, unknown>) =>
    JSON.stringify({ targets: [{ ...good, ...change }] });

  it.each([
    ['malformed JSON', '{"targets": [', /is not valid JSON/],
    ['no targets', '{}', /targets: Invalid input: expected array/],
    ['a missing field', withTarget({ ecs: undefined }), /targets\[0\]\.ecs: Invalid input: expected object/],
    [
      'a wrong type',
      withTarget({ bakeMinutes: 'five' }),
      /targets\[0\]\.bakeMinutes: Invalid input: expected number/,
    ],
    ['an oversized name', withTarget({ name: 'a'.repeat(41) }), /targets\[0\]\.name/],
    ['a name like a shell command', withTarget({ name: 'api;rm -rf' }), /targets\[0\]\.name/],
    ['an unknown key', withTarget({ bakeMinuets: 5 }), /targets\[0\]: Unrecognized key: "bakeMinuets"/],
  ])('%s → an error naming the field', (what, text, message) => {
    expect(() => loadTargetsFile(file(`${what.replace(/\W+/g, '-')}.json`, text))).toThrow(message);
  });
});

describe('the switchyard CLI', () => {
  const targets = join(root, 'local/targets.json');
  const run = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [inject('cliEntry'), '--local', '--state', join(tmp, 'cli-state'), '--targets', targets, ...args],
        { cwd: root, timeout: 120_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 3) : 0, stdout, stderr }),
      );
    });

  it.each([
    [['release', '--target', 'nope-api', '--tag', 'v2'], 2, 'unknown target "nope-api"'],
    [['release', '--target', 'checkout-api', '--tag', 'v2;rm -rf /'], 2, 'tag "v2;rm -rf /" does not match'],
    [
      ['release', '--target', 'checkout-api', '--tag', 'v'.repeat(300)],
      2,
      "does not match checkout-api's tagPattern",
    ],
    // Usage errors exit 2, as the help and README say (commander's own default was 1, issue 18).
    [
      ['release', '--target', 'checkout-api'],
      2,
      "required option '--tag <tag>' not specified (or --task-definition <file>",
    ],
    [['history', '--target', 'checkout-api', '--limit', '0'], 2, 'must be an integer 1-100'],
    [['nosuch'], 2, "unknown command 'nosuch'"],
    [
      ['release', '--target', 'checkout-api', '--tag', 'v2', '--strategy', 'yolo'],
      2,
      'Allowed choices are all-at-once, canary, linear',
    ],
    [
      ['approve', '--release', '../../etc/passwd', '--as', 'bob@example.com'],
      2,
      'has not asked for approval here',
    ],
  ])('%j → exit %s naming the problem', async (args, code, message) => {
    const out = await run(...(args as string[]));
    expect(out.code).toBe(code);
    expect(out.stderr).toContain(message);
  });

  it('a task definition ECS would refuse → exit 2 naming each field, and nothing starts', async () => {
    const bad = join(tmp, 'bad-task-definition.json');
    writeFileSync(
      bad,
      JSON.stringify({
        family: 'checkout-api',
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '512',
        memory: '512',
        containerDefinitions: [
          {
            name: 'app',
            image: 'x',
            environment: [
              { name: 'A', value: '1' },
              { name: 'A', value: '2' },
            ],
          },
        ],
      }),
    );
    const out = await run('release', '--target', 'checkout-api', '--task-definition', bad);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('is not a task definition ECS would take');
    expect(out.stderr).toContain(
      'memory: with cpu 512, Fargate takes memory 1024-4096 MiB in steps of 1024 (got 512)',
    );
    expect(out.stderr).toContain('containerDefinitions[0].environment[1].name: "A" is set twice');
    const missing = await run(
      'release',
      '--target',
      'checkout-api',
      '--task-definition',
      join(tmp, 'nope.json'),
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read --task-definition');
  });

  it('started nothing: the local account has no release', async () => {
    const out = await run('--json', 'history', '--target', 'checkout-api');
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([]);
  });
});

describe('approval links and Slack payloads', () => {
  let releaseId: string;
  let approve: string;
  beforeAll(async () => {
    ({ releaseId, approve } = await parkedRelease(w, 'orders-api'));
  });
  const base = () => approve.replace(/\?.*$/, '');
  const fields = () => Object.fromEntries(new URL(approve).searchParams);
  const post = (url: string, body: string) => http(url, { method: 'POST', body });

  it.each([
    [
      'a malformed expiry',
      () => post(base(), new URLSearchParams({ ...fields(), exp: 'tomorrow' }).toString()),
      400,
      'missing its action, approver, expiry or signature',
    ],
    [
      'an unknown action',
      () => post(base(), new URLSearchParams({ ...fields(), action: 'delete' }).toString()),
      400,
      'missing its action',
    ],
    [
      'an oversized approver',
      () => post(base(), new URLSearchParams({ ...fields(), approver: 'a'.repeat(5000) }).toString()),
      403,
      'This link is not valid',
    ],
    [
      'script in the approver',
      () =>
        post(base(), new URLSearchParams({ ...fields(), approver: '<script>alert(1)</script>' }).toString()),
      403,
      'This link is not valid',
    ],
    ['a body that is not a form', () => post(base(), '\u0000\u0001{"json":true}'), 400, 'missing its action'],
    [
      'an id like a path',
      () => http(`${base().replace(/[^/]+$/, '')}..%2F..%2Fsecrets`),
      404,
      'There is no such approval page',
    ],
    ['a body over 64 KB', () => post(base(), `reason=${'x'.repeat(70_000)}`), 413, 'request body too large'],
  ])('%s is refused, and nothing decided', async (_, send, status, text) => {
    const page = await send();
    expect(page.status).toBe(status);
    expect(page.body).toContain(text);
    expect(page.body).not.toContain('<script>alert');
    expect((await approvalsOf(w.rt, releaseId))[0]?.status).toBe('PENDING');
  });

  const slack = (body: string) =>
    clickSlackButton(w.rt, { approvalId: 'x', userId: 'U0BOB0001', action: 'approve', tamper: () => body });
  const signedSlack = (payload: string) =>
    clickSlackButton(w.rt, {
      approvalId: 'x',
      userId: 'U0BOB0001',
      action: 'approve',
      // Signed as sent: the signature must pass for the payload check itself to be reached.
      rawBody: `payload=${encodeURIComponent(payload)}`,
    });

  it.each([
    ['a payload that is not JSON', () => signedSlack('{not json'), 400, 'payload is not JSON'],
    [
      'no actions',
      () => signedSlack(JSON.stringify({ type: 'block_actions', user: { id: 'U0BOB0001' } })),
      400,
      'not a Switchyard approval button',
    ],
    [
      'another interaction type',
      () => signedSlack(JSON.stringify({ type: 'view_submission' })),
      400,
      'not a Switchyard approval button',
    ],
    [
      // Acknowledged at once (Slack's 3 s), then answered to the clicking person only.
      'an unknown approval id',
      () => clickSlackButton(w.rt, { approvalId: 'A'.repeat(24), userId: 'U0BOB0001', action: 'approve' }),
      200,
      'This approval does not exist (any more).',
    ],
    ['an unsigned body', () => slack('payload=%7B%7D'), 401, 'refused: bad signature'],
  ])('Slack: %s is refused, and nothing decided', async (_, send, status, text) => {
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(status === 200 ? reply.reply : reply.body).toContain(text);
    expect((await approvalsOf(w.rt, releaseId))[0]?.status).toBe('PENDING');
  });
});
