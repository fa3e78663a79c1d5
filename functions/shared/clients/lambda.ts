import { LambdaClient } from '@aws-sdk/client-lambda';

export const lambda = /* @__PURE__ */ new LambdaClient({});
