import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';

export const cloudwatch = /* @__PURE__ */ new CloudWatchClient({});
