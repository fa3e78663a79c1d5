import { ECSClient } from '@aws-sdk/client-ecs';
import { requestHandler } from './http.ts';

export const ecs = /* @__PURE__ */ new ECSClient({ requestHandler });
