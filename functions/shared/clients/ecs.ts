import { ECSClient } from '@aws-sdk/client-ecs';

export const ecs = /* @__PURE__ */ new ECSClient({});
