import { SFNClient } from '@aws-sdk/client-sfn';

export const sfn = /* @__PURE__ */ new SFNClient({});
