import { RDSClient } from '@aws-sdk/client-rds';
import { requestHandler } from './http.ts';

export const rds = /* @__PURE__ */ new RDSClient({ requestHandler });
