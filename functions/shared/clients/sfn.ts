import { SFNClient } from '@aws-sdk/client-sfn';
import { requestHandler } from './http.ts';

export const sfn = /* @__PURE__ */ new SFNClient({ requestHandler });
