import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { requestHandler } from './http.ts';

export const cloudwatch = /* @__PURE__ */ new CloudWatchClient({ requestHandler });
