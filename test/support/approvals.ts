/** Reads approval records straight from the local approvals table, by release. */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalRecord } from '../../functions/shared/approvals.ts';
import type { LocalRuntime } from '../../local/runtime.ts';

export const approvalRecords = async (rt: LocalRuntime, releaseId: string): Promise<ApprovalRecord[]> => {
  const out = await rt.until(
    rt.doc.send(
      new ScanCommand({
        TableName: rt.tables.approvals,
        FilterExpression: 'releaseId = :r',
        ExpressionAttributeValues: { ':r': releaseId },
        ConsistentRead: true,
      }),
    ),
  );
  return (out.Items ?? []) as ApprovalRecord[];
};
