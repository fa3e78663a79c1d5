import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

export const logs = /* @__PURE__ */ new CloudWatchLogsClient({});
