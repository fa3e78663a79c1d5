import { ECRClient } from '@aws-sdk/client-ecr';
import { requestHandler } from './http.ts';

export const ecr = /* @__PURE__ */ new ECRClient({ requestHandler });
