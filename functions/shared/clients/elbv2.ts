import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { requestHandler } from './http.ts';

export const elbv2 = /* @__PURE__ */ new ElasticLoadBalancingV2Client({ requestHandler });
