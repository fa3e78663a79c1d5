import { RDSClient } from '@aws-sdk/client-rds';

export const rds = /* @__PURE__ */ new RDSClient({});
