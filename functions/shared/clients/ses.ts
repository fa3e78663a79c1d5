import { SESv2Client } from '@aws-sdk/client-sesv2';
import { requestHandler } from './http.ts';

export const ses = /* @__PURE__ */ new SESv2Client({ requestHandler });
