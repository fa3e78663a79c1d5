/**
 * Simulated Elastic Load Balancing v2: load balancers, listeners, rules with weighted forward
 * actions, target groups and target health. A test listener is a real HTTP server on loopback, so
 * CheckHealth's probes cross a socket to the colour the listener forwards to.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  Action,
  Listener,
  Rule,
  TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsError, notFound } from './errors.ts';

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining';

/**
 * A target group's settings when its owner set none, as ELBv2 creates one (ALB user guide, "Health
 * checks for Application Load Balancer target groups": HealthCheckIntervalSeconds 30 for instance
 * and ip targets, HealthyThresholdCount 5, UnhealthyThresholdCount 2; "Target group attributes":
 * deregistration_delay.timeout_seconds 300). A target reports `draining` for the whole delay.
 */
export const TARGET_GROUP_DEFAULTS = {
  intervalSeconds: 30,
  healthyThreshold: 5,
  unhealthyThreshold: 2,
  deregistrationDelaySeconds: 300,
};

/** What a target group's owner may set (the demo world sets faster values, as a user could). */
export type TargetGroupSettings = Partial<typeof TARGET_GROUP_DEFAULTS>;

interface SimTarget {
  id: string;
  port: number;
  state: TargetState;
  reason?: string;
  /** Whether the container behind this target answers its health path correctly. */
  serves: boolean;
  /** Share of real requests it answers with 5xx (a bug the health check does not see). */
  errorRate: number;
  /** 95th percentile of its response times, ms (the traffic model's latency). */
  p95Ms?: number;
}

interface SimTargetGroup {
  arn: string;
  name: string;
  healthCheckPath: string;
  /** Seconds between health checks × thresholds decide how fast targets turn healthy/unhealthy. */
  intervalSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  deregistrationDelaySeconds: number;
  targets: Map<string, SimTarget>;
}

interface SimListener {
  arn: string;
  loadBalancerArn: string;
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  defaultActions: Action[];
  server?: Server;
}

export class Elbv2Model {
  readonly loadBalancers = new Map<
    string,
    { arn: string; dnsName: string; name: string; scheme: 'internet-facing' | 'internal'; vpcId?: string }
  >();
  readonly listeners = new Map<string, SimListener>();
  readonly rules = new Map<
    string,
    { arn: string; listenerArn: string; priority: string; actions: Action[] }
  >();
  readonly targetGroups = new Map<string, SimTargetGroup>();
  /** Every weight change, for summaries: virtual time and weights per target group. */
  readonly weightHistory: { at: number; where: string; weights: Record<string, number> }[] = [];
  private notify: (message: string) => void = () => {};

  onChange(listener: (message: string) => void) {
    this.notify = listener;
  }

  addLoadBalancer(
    arn: string,
    name: string,
    dnsName: string,
    network: { scheme?: 'internet-facing' | 'internal'; vpcId?: string } = {},
  ) {
    this.loadBalancers.set(arn, {
      arn,
      name,
      dnsName,
      scheme: network.scheme ?? 'internet-facing',
      vpcId: network.vpcId,
    });
  }

  addTargetGroup(
    arn: string,
    name: string,
    options: TargetGroupSettings & { healthCheckPath?: string } = {},
  ) {
    this.targetGroups.set(arn, {
      arn,
      name,
      healthCheckPath: '/health',
      ...TARGET_GROUP_DEFAULTS,
      ...options,
      targets: new Map(),
    });
  }

  addListener(arn: string, loadBalancerArn: string, port: number, defaultActions: Action[]) {
    this.listeners.set(arn, { arn, loadBalancerArn, port, protocol: 'HTTP', defaultActions });
  }

  addRule(arn: string, listenerArn: string, priority: string, actions: Action[]) {
    this.rules.set(arn, { arn, listenerArn, priority, actions });
  }

  /** Serves a listener over HTTP on loopback (port chosen by the OS); the listener's Port becomes it. */
  async serveListener(arn: string): Promise<void> {
    const listener = this.listeners.get(arn);
    if (!listener) throw new Error(`no listener ${arn}`);
    const server = createServer((req, res) => {
      const picked = this.pickTarget(listener.defaultActions);
      if (!picked) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('503 Service Temporarily Unavailable');
        return;
      }
      const { target, group } = picked;
      const ok = target.serves;
      // The target group's metrics count it, as they count every request a listener forwards.
      this.onServed?.(group, arn, !ok);
      res.writeHead(ok ? 200 : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'error', target: target.id, path: req.url }));
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    listener.port = (server.address() as AddressInfo).port;
    listener.server = server;
    const lb = this.loadBalancers.get(listener.loadBalancerArn);
    if (lb) lb.dnsName = '127.0.0.1';
  }

  async close() {
    await Promise.all(
      [...this.listeners.values()].map(
        (l) => new Promise<void>((resolve) => (l.server ? l.server.close(() => resolve()) : resolve())),
      ),
    );
    for (const l of this.listeners.values()) l.server?.closeAllConnections();
  }

  /** Told of each request a served listener forwards (the traffic model's metrics count them). */
  onServed: ((groupArn: string, listenerArn: string, error: boolean) => void) | undefined;

  private pickTarget(actions: Action[]): { target: SimTarget; group: string } | undefined {
    const forward = actions.find((a) => a.Type === 'forward');
    const arns = forward?.ForwardConfig?.TargetGroups?.filter((g) => (g.Weight ?? 1) > 0).map(
      (g) => g.TargetGroupArn,
    ) ?? [forward?.TargetGroupArn];
    const healthy = arns
      .flatMap((arn) =>
        [...(this.targetGroups.get(arn ?? '')?.targets.values() ?? [])].map((target) => ({
          target,
          group: arn ?? '',
        })),
      )
      .filter((t) => t.target.state === 'healthy');
    return healthy[Math.floor(Math.random() * healthy.length)];
  }

  // --- used by the ECS model --------------------------------------------------------------

  /** A registered target's p95 response time from now on (its image's). */
  setLatency(groupArn: string, id: string, p95Ms: number) {
    const target = this.targetGroups.get(groupArn)?.targets.get(id);
    if (target) target.p95Ms = p95Ms;
  }

  /** The healthy targets of a target group, as the load balancer routes to them. */
  healthyTargets(groupArn: string): SimTarget[] {
    return [...(this.targetGroups.get(groupArn)?.targets.values() ?? [])].filter(
      (t) => t.state === 'healthy',
    );
  }

  /** The share of requests a registered target answers with 5xx from now on. */
  setErrorRate(groupArn: string, id: string, errorRate: number) {
    const target = this.targetGroups.get(groupArn)?.targets.get(id);
    if (target) target.errorRate = errorRate;
  }

  /**
   * Registers a target; it turns healthy (or unhealthy) after its health checks. `settled` targets
   * (the world as it stands before time starts) are already past them.
   */
  register(groupArn: string, id: string, port: number, serves: boolean, errorRate = 0, settled = false) {
    const group = this.targetGroups.get(groupArn);
    if (!group) return;
    if (settled) {
      group.targets.set(id, {
        id,
        port,
        state: serves ? 'healthy' : 'unhealthy',
        reason: serves ? undefined : 'Target.ResponseCodeMismatch',
        serves,
        errorRate,
      });
      return;
    }
    group.targets.set(id, {
      id,
      port,
      state: 'initial',
      reason: 'Elb.InitialHealthChecking',
      serves,
      errorRate,
    });
    const checks = serves ? group.healthyThreshold : group.unhealthyThreshold;
    setTimeout(
      () => {
        const target = group.targets.get(id);
        if (target?.state !== 'initial') return;
        target.state = serves ? 'healthy' : 'unhealthy';
        target.reason = serves ? undefined : 'Target.ResponseCodeMismatch';
        for (const listener of this.healthListeners) listener(groupArn, id, target.state);
      },
      checks * group.intervalSeconds * 1000,
    );
  }

  /** Starts draining; the target disappears after the deregistration delay. Returns that delay (ms). */
  deregister(groupArn: string, id: string): number {
    const group = this.targetGroups.get(groupArn);
    const target = group?.targets.get(id);
    if (!group || !target) return 0;
    target.state = 'draining';
    target.reason = 'Target.DeregistrationInProgress';
    const delay = group.deregistrationDelaySeconds * 1000;
    setTimeout(() => group.targets.delete(id), delay);
    return delay;
  }

  /** The load balancer whose listener is served on loopback `port` (what a probe connects to). */
  loadBalancerOnPort(port: number) {
    const listener = [...this.listeners.values()].find((l) => l.server && l.port === port);
    return listener ? this.loadBalancers.get(listener.loadBalancerArn) : undefined;
  }

  /** Whether a target is in its first health checks or draining (each ends on a timer). */
  busy(): boolean {
    return [...this.targetGroups.values()].some((g) =>
      [...g.targets.values()].some((t) => t.state === 'initial' || t.state === 'draining'),
    );
  }

  targetState(groupArn: string, id: string): TargetState | undefined {
    return this.targetGroups.get(groupArn)?.targets.get(id)?.state;
  }

  private readonly healthListeners: ((groupArn: string, id: string, state: TargetState) => void)[] = [];
  onTargetHealth(listener: (groupArn: string, id: string, state: TargetState) => void) {
    this.healthListeners.push(listener);
  }

  /**
   * Percent of a rule's or listener's requests answered with 5xx right now: each target group's
   * share of the weight times the mean error rate of its healthy targets (a group with no healthy
   * target answers 503).
   */
  errorPercent(where: string): number {
    const weights = Object.entries(this.weightsOf(where));
    const total = weights.reduce((sum, [, w]) => sum + w, 0);
    if (total === 0) return 100;
    let errors = 0;
    for (const [arn, weight] of weights) {
      if (weight === 0) continue;
      const healthy = [...(this.targetGroups.get(arn)?.targets.values() ?? [])].filter(
        (t) => t.state === 'healthy',
      );
      const rate = healthy.length ? healthy.reduce((sum, t) => sum + t.errorRate, 0) / healthy.length : 1;
      errors += (weight / total) * rate;
    }
    return errors * 100;
  }

  /** Current weights (by target group ARN) of a rule or a listener's default action. */
  weightsOf(where: string): Record<string, number> {
    const actions = this.rules.get(where)?.actions ?? this.listeners.get(where)?.defaultActions ?? [];
    const forward = actions.find((a) => a.Type === 'forward');
    if (forward?.ForwardConfig?.TargetGroups?.length) {
      return Object.fromEntries(
        forward.ForwardConfig.TargetGroups.map((g) => [g.TargetGroupArn ?? '', g.Weight ?? 1]),
      );
    }
    return forward?.TargetGroupArn ? { [forward.TargetGroupArn]: 1 } : {};
  }

  // --- API --------------------------------------------------------------------------------

  /**
   * ModifyRule/ModifyListener validation as ELBv2 does it (API reference, ForwardActionConfig and
   * AuthenticateOidcActionConfig): at most 5 target groups per forward action, weights 0-999 with
   * at least one above 0, and an OIDC action needs its client secret or UseExistingClientSecret.
   */
  private validateActions(actions: Action[] | undefined): Action[] {
    if (!actions?.length) throw awsError('ValidationError', 'Actions must contain at least one action');
    for (const action of actions) {
      if (action.Type === 'authenticate-oidc') {
        const oidc = action.AuthenticateOidcConfig;
        if (!oidc?.ClientSecret && !oidc?.UseExistingClientSecret) {
          throw awsError(
            'ValidationError',
            'A client secret must be specified for authenticate-oidc actions unless UseExistingClientSecret is true',
          );
        }
      }
      if (action.Type !== 'forward') continue;
      const groups =
        action.ForwardConfig?.TargetGroups ??
        (action.TargetGroupArn ? [{ TargetGroupArn: action.TargetGroupArn }] : []);
      if (groups.length > 5)
        throw awsError('TooManyTargetGroups', 'at most 5 target groups per forward action');
      for (const g of groups) {
        if (!this.targetGroups.has(g.TargetGroupArn ?? '')) {
          throw notFound(
            'TargetGroupNotFoundException',
            `One or more target groups not found: ${g.TargetGroupArn}`,
          );
        }
        const weight = (g as { Weight?: number }).Weight;
        if (weight !== undefined && (weight < 0 || weight > 999)) {
          throw awsError('ValidationError', `Weight ${weight} must be between 0 and 999`);
        }
      }
      if (groups.length > 1 && groups.every((g) => ((g as { Weight?: number }).Weight ?? 1) === 0)) {
        throw awsError(
          'ValidationError',
          'At least one target group in a forward action must have a weight above 0',
        );
      }
    }
    return structuredClone(actions);
  }

  /** What Describe* returns: never an OIDC client secret (ELBv2 API reference). */
  private withoutSecrets(actions: Action[]): Action[] {
    return structuredClone(actions).map((a) => {
      if (!a.AuthenticateOidcConfig) return a;
      const { ClientSecret: _, UseExistingClientSecret: __, ...config } = a.AuthenticateOidcConfig;
      return { ...a, AuthenticateOidcConfig: config };
    });
  }

  private listenerOut(l: SimListener): Listener {
    return {
      ListenerArn: l.arn,
      LoadBalancerArn: l.loadBalancerArn,
      Port: l.port,
      Protocol: l.protocol,
      DefaultActions: this.withoutSecrets(l.defaultActions),
    };
  }

  DescribeListeners(input: { ListenerArns?: string[]; LoadBalancerArn?: string }) {
    const found = (input.ListenerArns ?? []).map((arn) => {
      const l = this.listeners.get(arn);
      if (!l) throw notFound('ListenerNotFoundException', `One or more listeners not found: ${arn}`);
      return this.listenerOut(l);
    });
    const byLb = input.LoadBalancerArn
      ? [...this.listeners.values()]
          .filter((l) => l.loadBalancerArn === input.LoadBalancerArn)
          .map((l) => this.listenerOut(l))
      : [];
    return { Listeners: [...found, ...byLb] };
  }

  DescribeRules(input: { RuleArns?: string[]; ListenerArn?: string }) {
    const rules = input.RuleArns
      ? input.RuleArns.map((arn) => {
          const r = this.rules.get(arn);
          if (!r) throw notFound('RuleNotFoundException', `One or more rules not found: ${arn}`);
          return r;
        })
      : [...this.rules.values()].filter((r) => r.listenerArn === input.ListenerArn);
    return {
      Rules: rules.map(
        (r): Rule => ({
          RuleArn: r.arn,
          Priority: r.priority,
          Actions: this.withoutSecrets(r.actions),
          IsDefault: false,
        }),
      ),
    };
  }

  ModifyRule(input: { RuleArn: string; Actions?: Action[] }) {
    const rule = this.rules.get(input.RuleArn);
    if (!rule) throw notFound('RuleNotFoundException', `One or more rules not found: ${input.RuleArn}`);
    if (input.Actions) rule.actions = this.validateActions(input.Actions);
    this.recordWeights(rule.arn);
    return { Rules: this.DescribeRules({ RuleArns: [rule.arn] }).Rules };
  }

  ModifyListener(input: { ListenerArn: string; DefaultActions?: Action[] }) {
    const listener = this.listeners.get(input.ListenerArn);
    if (!listener)
      throw notFound('ListenerNotFoundException', `One or more listeners not found: ${input.ListenerArn}`);
    if (input.DefaultActions) listener.defaultActions = this.validateActions(input.DefaultActions);
    this.recordWeights(listener.arn);
    return { Listeners: [this.listenerOut(listener)] };
  }

  private recordWeights(where: string) {
    const weights = this.weightsOf(where);
    this.weightHistory.push({ at: Date.now(), where, weights });
    const names = Object.entries(weights).map(
      ([arn, w]) => `${this.targetGroups.get(arn)?.name ?? arn}=${w}`,
    );
    this.notify(`weights ${names.join(' ')}`);
  }

  DescribeTargetGroups(input: { TargetGroupArns?: string[] }) {
    return {
      TargetGroups: (input.TargetGroupArns ?? [...this.targetGroups.keys()]).map((arn) => {
        const g = this.targetGroups.get(arn);
        if (!g) throw notFound('TargetGroupNotFoundException', `One or more target groups not found: ${arn}`);
        return {
          TargetGroupArn: g.arn,
          TargetGroupName: g.name,
          HealthCheckPath: g.healthCheckPath,
          Protocol: 'HTTP',
          TargetType: 'ip',
          HealthCheckIntervalSeconds: g.intervalSeconds,
          HealthyThresholdCount: g.healthyThreshold,
          UnhealthyThresholdCount: g.unhealthyThreshold,
        };
      }),
    };
  }

  DescribeTargetGroupAttributes(input: { TargetGroupArn: string }) {
    const g = this.targetGroups.get(input.TargetGroupArn);
    if (!g)
      throw notFound(
        'TargetGroupNotFoundException',
        `One or more target groups not found: ${input.TargetGroupArn}`,
      );
    return {
      Attributes: [
        { Key: 'deregistration_delay.timeout_seconds', Value: String(g.deregistrationDelaySeconds) },
      ],
    };
  }

  DescribeTargetHealth(input: { TargetGroupArn: string }) {
    const group = this.targetGroups.get(input.TargetGroupArn);
    if (!group)
      throw notFound(
        'TargetGroupNotFoundException',
        `One or more target groups not found: ${input.TargetGroupArn}`,
      );
    return {
      TargetHealthDescriptions: [...group.targets.values()].map(
        (t): TargetHealthDescription => ({
          Target: { Id: t.id, Port: t.port },
          HealthCheckPort: String(t.port),
          TargetHealth: { State: t.state, Reason: t.reason as never },
        }),
      ),
    };
  }

  DescribeLoadBalancers(input: { LoadBalancerArns?: string[] }) {
    return {
      LoadBalancers: (input.LoadBalancerArns ?? [...this.loadBalancers.keys()]).map((arn) => {
        const lb = this.loadBalancers.get(arn);
        if (!lb)
          throw notFound('LoadBalancerNotFoundException', `One or more load balancers not found: ${arn}`);
        return {
          LoadBalancerArn: lb.arn,
          LoadBalancerName: lb.name,
          DNSName: lb.dnsName,
          Scheme: lb.scheme,
          VpcId: lb.vpcId,
          State: { Code: 'active' },
        };
      }),
    };
  }
}
