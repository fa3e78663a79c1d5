import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { requestHandler } from './http.ts';

export const logs = /* @__PURE__ */ new CloudWatchLogsClient({ requestHandler });
