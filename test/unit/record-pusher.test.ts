/**
 * record-pusher reads CloudTrail's PutImage record: only a successful push by a named identity is
 * recorded; a failed call (errorCode, responseElements null) or an identity with a control
 * character records nothing.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../functions/record-pusher/run.ts';
import { inputSchema } from '../../functions/record-pusher/schema.ts';
import type { Store } from '../../functions/shared/store.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const event = (detail: Record<string, unknown>) =>
  inputSchema.parse({
    source: 'aws.ecr',
    'detail-type': 'AWS API Call via CloudTrail',
    detail: {
      eventName: 'PutImage',
      eventTime: '2026-12-02T04:00:00Z',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice' },
      requestParameters: { repositoryName: 'orders-api' },
      responseElements: {
        image: { repositoryName: 'orders-api', imageId: { imageDigest: digest, imageTag: 'v2' } },
      },
      ...detail,
    },
  });

const recording = () => {
  const pushes: unknown[] = [];
  const store = { recordPush: async (p: unknown) => void pushes.push(p) } as unknown as Store;
  return { pushes, deps: { store } };
};

describe('record-pusher', () => {
  it('records the pushing principal of a successful PutImage', async () => {
    const { pushes, deps } = recording();
    expect(await run(event({}), deps)).toEqual({
      recorded: { repository: 'orders-api', digest, by: 'arn:aws:iam::123456789012:user/alice' },
    });
    expect(pushes).toEqual([
      {
        repository: 'orders-api',
        digest,
        tag: 'v2',
        by: 'arn:aws:iam::123456789012:user/alice',
        at: '2026-12-02T04:00:00Z',
      },
    ]);
  });

  it.each([
    [
      'a failed call',
      { errorCode: 'ImageAlreadyExistsException', responseElements: null },
      'PutImage failed (ImageAlreadyExistsException)',
    ],
    [
      'an identity with a newline',
      { userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::1:user/a\nApprove: x' } },
      'userIdentity contains a control character',
    ],
    ['an identity with no ARN', { userIdentity: { type: 'AWSAccount' } }, 'with no ARN'],
  ])('records nothing for %s', async (_, detail, why) => {
    const { pushes, deps } = recording();
    expect((await run(event(detail), deps)).ignored).toContain(why);
    expect(pushes).toEqual([]);
  });
});
