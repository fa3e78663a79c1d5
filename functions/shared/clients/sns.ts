import { SNSClient } from '@aws-sdk/client-sns';
import { requestHandler } from './http.ts';

export const sns = /* @__PURE__ */ new SNSClient({ requestHandler });
