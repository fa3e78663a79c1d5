import * as z from 'zod';

/**
 * CloudTrail's record of an ECR PutImage, as EventBridge delivers it ("AWS API Call via
 * CloudTrail"). Only the fields Switchyard reads; a failed call carries `errorCode` and no
 * `responseElements`.
 */
export const inputSchema = z.object({
  source: z.literal('aws.ecr'),
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  detail: z.object({
    eventName: z.literal('PutImage'),
    eventTime: z.iso.datetime({ offset: true }),
    errorCode: z.string().optional(),
    userIdentity: z.object({
      type: z.string(),
      arn: z.string().max(2048).optional(),
      invokedBy: z.string().max(256).optional(),
    }),
    requestParameters: z.object({ repositoryName: z.string().min(1).max(256) }).nullish(),
    responseElements: z
      .object({
        image: z.object({
          repositoryName: z.string().min(1).max(256),
          imageId: z.object({
            imageDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>'),
            imageTag: z.string().max(300).optional(),
          }),
        }),
      })
      .nullish(),
  }),
});
export type Input = z.infer<typeof inputSchema>;

export interface Output {
  recorded?: { repository: string; digest: string; by: string };
  ignored?: string;
}
