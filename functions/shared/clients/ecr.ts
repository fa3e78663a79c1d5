import { ECRClient } from '@aws-sdk/client-ecr';

export const ecr = /* @__PURE__ */ new ECRClient({});
