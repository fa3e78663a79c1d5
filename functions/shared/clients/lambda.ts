import { LambdaClient } from '@aws-sdk/client-lambda';
import { requestHandler } from './http.ts';

export const lambda = /* @__PURE__ */ new LambdaClient({ requestHandler });
