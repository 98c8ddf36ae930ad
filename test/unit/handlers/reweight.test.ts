/**
 * The reweight run on the simulated cloud: the simulated ALB (SimTraffic),
 * node groups as the capacity port reports them, CloudWatch SLO metrics from a
 * recording stub, the in-memory state store (same contract as DynamoDB).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/load.ts';
import type { PrescaleConfig } from '../../../lib/config/schema.ts';
import type { DemandHistory } from '../../../lib/core/forecast/types.ts';
import { PrescaleError } from '../../../lib/errors.ts';
import { runReweight, type ReweightPorts } from '../../../lib/handlers/reweight.ts';
import type { CapacityActuator, MetricQuery, MetricsSource, NodeGroupState } from '../../../lib/ports.ts';
import { SteppedClock } from '../../../lib/sim/cloud.ts';
import { SimTraffic } from '../../../lib/sim/traffic.ts';
import { createMemoryStateStore } from '../../../lib/state/memory.ts';
import { GENERAL, LISTENER, RULE, SPOT } from '../../support/gateway-rule.ts';

/** 2026-11-02 14:00:30 UTC: the SLO window is the five whole minutes before, [13:55, 14:00). */
const NOW_MS = Date.UTC(2026, 10, 2, 14, 0, 30);
const WINDOW_START_MS = Date.UTC(2026, 10, 2, 13, 55);
const WINDOW_END_MS = Date.UTC(2026, 10, 2, 14, 0);

function config(options: { generalCpu?: string; slo?: Record<string, number> } = {}): PrescaleConfig {
  const group = (name: string, cpu: string) => ({ name, instanceTypes: ['m5.large'], minNodes: 0, maxNodes: 20, allocatable: { cpu, memory: '7Gi', pods: 29 } });
  return parseConfig({
    version: 1,
    cluster: { name: 'debate-prod', region: 'us-east-1' },
    nodeGroups: [group('general', options.generalCpu ?? '1930m'), { ...group('spot', '1930m'), capacityType: 'spot' }],
    services: [
      {
        name: 'gateway',
        namespace: 'debate',
        deployment: 'gateway',
        requests: { cpu: '500m', memory: '512Mi' },
        nodeGroups: ['general', 'spot'],
        hpa: { minReplicas: 3, maxReplicas: 20, metrics: [{ type: 'cpu', targetUtilizationPercent: 70 }] },
        demand: { metric: { namespace: 'AWS/ApplicationELB', name: 'RequestCount', stat: 'Sum' }, perPod: 100 },
      },
    ],
    albRules: [
      {
        name: 'gateway',
        listenerArn: LISTENER,
        ruleArn: RULE,
        targetGroups: [
          { arn: GENERAL, nodeGroup: 'general' },
          { arn: SPOT, nodeGroup: 'spot' },
        ],
        ...(options.slo === undefined ? {} : { slo: options.slo }),
      },
    ],
  });
}

interface World {
  readonly ports: ReweightPorts;
  readonly traffic: SimTraffic;
  readonly describes: string[][];
  readonly queries: { query: MetricQuery; startMs: number; endMs: number }[];
  /** Size of each batched metric read (one GetMetricData each). */
  readonly batches: number[];
}

/**
 * Nodes per group as EKS reports them and as the ALB sees them (one instance
 * target per node). `metrics` maps `<metric>|<target group name>` to the
 * per-minute values of the window; anything else has no datapoints.
 */
function world(
  nodes: Readonly<Record<string, { ready: number; draining?: number }>>,
  options: { managed?: boolean; metrics?: Readonly<Record<string, readonly number[]>>; metricsError?: PrescaleError } = {},
): World {
  const clock = new SteppedClock(NOW_MS);
  const traffic = new SimTraffic({ clock, readyNodes: (g) => nodes[g]?.ready ?? 0, drainingNodes: (g) => nodes[g]?.draining ?? 0 });
  traffic.addTargetGroup({ arn: GENERAL, nodeGroup: 'general' });
  traffic.addTargetGroup({ arn: SPOT, nodeGroup: 'spot' });
  traffic.addRule({ listenerArn: LISTENER, ruleArn: RULE, weights: [{ targetGroupArn: GENERAL, weight: 50 }, { targetGroupArn: SPOT, weight: 50 }], managedByController: options.managed ?? false });
  const describes: string[][] = [];
  const capacity: CapacityActuator = {
    async describeNodeGroups(cluster, names): Promise<NodeGroupState[]> {
      describes.push([cluster, ...names]);
      return names.map((name) => ({ name, status: 'ACTIVE', desiredNodes: nodes[name]?.ready ?? 0, minNodes: 0, maxNodes: 20, readyNodes: nodes[name]?.ready ?? 0, bootingNodes: 0 }));
    },
    async setDesiredNodes() {
      throw new Error('reweight must never resize a node group');
    },
  };
  const queries: World['queries'] = [];
  const batches: number[] = [];
  const metrics: MetricsSource = {
    async getDemand(query, startMs, endMs): Promise<DemandHistory> {
      queries.push({ query, startMs, endMs });
      if (options.metricsError !== undefined) throw options.metricsError;
      const tg = /targetgroup\/([^/]+)\//.exec(query.dimensions.TargetGroup ?? '')?.[1];
      const values = options.metrics?.[`${query.name}|${tg}`] ?? [];
      return { startMs, stepSeconds: 60, values: [...values] };
    },
    async getDemandMany(requests) {
      batches.push(requests.length);
      return Promise.allSettled(requests.map((r) => this.getDemand(r.query, r.startMs, r.endMs)));
    },
  };
  return { ports: { clock, traffic, capacity, metrics, state: createMemoryStateStore() }, traffic, describes, queries, batches };
}

const run = (cfg: PrescaleConfig, w: World, runId = 'req-1') => runReweight(cfg, w.ports, { actor: 'reweight', runId });

describe('runReweight on the simulated ALB', () => {
  it('the exact flow: lease, health + node groups + SLO metrics, one ModifyRule, one audit entry', async () => {
    const w = world(
      { general: { ready: 6 }, spot: { ready: 6 } },
      {
        // spot's latest minute with requests (13:58): p95 1 s against an SLO of 0.5 s → ×0.5; 5xx 2 of 400 = 0.5 % < 1 %.
        metrics: { 'RequestCount|gateway-spot': [300, 300, 300, 400, Number.NaN], 'HTTPCode_Target_5XX_Count|gateway-spot': [Number.NaN, Number.NaN, 1, 2, Number.NaN], 'TargetResponseTime|gateway-spot': [0.2, 0.2, 0.9, 1, Number.NaN] },
      },
    );
    const result = await run(config({ slo: { p95Seconds: 0.5, max5xxPercent: 1 } }), w);

    expect(w.describes).toEqual([['debate-prod', 'general', 'spot']]);
    // Three per-minute queries per target group over the last five whole minutes, with the ALB's dimensions.
    expect(w.queries).toHaveLength(6);
    // …read as one batch (one GetMetricData) per target group.
    expect(w.batches).toEqual([3, 3]);
    expect(w.queries.filter((q) => q.query.dimensions.TargetGroup === 'targetgroup/gateway-spot/2453ed029918f21f').map((q) => q.query)).toEqual([
      { namespace: 'AWS/ApplicationELB', name: 'RequestCount', dimensions: { LoadBalancer: 'app/debate-prod/50dc6c495c0c9188', TargetGroup: 'targetgroup/gateway-spot/2453ed029918f21f' }, stat: 'Sum', periodSeconds: 60 },
      { namespace: 'AWS/ApplicationELB', name: 'HTTPCode_Target_5XX_Count', dimensions: { LoadBalancer: 'app/debate-prod/50dc6c495c0c9188', TargetGroup: 'targetgroup/gateway-spot/2453ed029918f21f' }, stat: 'Sum', periodSeconds: 60 },
      { namespace: 'AWS/ApplicationELB', name: 'TargetResponseTime', dimensions: { LoadBalancer: 'app/debate-prod/50dc6c495c0c9188', TargetGroup: 'targetgroup/gateway-spot/2453ed029918f21f' }, stat: 'p95', periodSeconds: 60 },
    ]);
    expect(new Set(w.queries.map((q) => `${q.startMs}-${q.endMs}`))).toEqual(new Set([`${WINDOW_START_MS}-${WINDOW_END_MS}`]));

    // Equal capacity 6 × 1930 m each, spot × 0.5: shares 2 : 1 → target 67 / 33 (largest remainder), gap 17 ≤ step 20.
    const after = [{ targetGroupArn: GENERAL, weight: 67 }, { targetGroupArn: SPOT, weight: 33 }];
    expect(w.traffic.calls).toEqual([{ atMs: NOW_MS, listenerArn: LISTENER, ruleArn: RULE, weights: after }]);
    expect(result.status).toBe('done');
    expect(result.rules).toHaveLength(1);
    expect(result.rules[0]).toMatchObject({ rule: 'gateway', result: 'applied' });

    const audit = await w.ports.state.listAudit('debate-prod', 0, 10);
    expect(audit).toEqual([
      {
        cluster: 'debate-prod',
        atMs: NOW_MS,
        actor: 'reweight',
        target: 'debate-prod/alb/gateway',
        reason: result.rules[0]!.reason,
        before: [{ targetGroupArn: GENERAL, weight: 50 }, { targetGroupArn: SPOT, weight: 50 }],
        after,
        result: 'applied',
        message: undefined,
      },
    ]);
    expect(audit[0]!.reason).toBe(
      'ALB rule gateway: moving weights toward capacity share (largest gap 17 points, hysteresis 5, step ≤ 20): ' +
        'gateway-general: healthy 6, capacity 11580, target 67, 50 → 67; ' +
        'gateway-spot: healthy 6, capacity 11580, 5xx 0.50 % p95 1 s → ×0.50, target 33, 50 → 33',
    );
    // The lease is released: the next run takes it.
    await expect(w.ports.state.acquireLease('debate-prod#reweight', 'next', NOW_MS, 60_000)).resolves.toMatchObject({ owner: 'next' });
  });

  it('is not held up by a capacity run holding the cluster lease', async () => {
    const w = world({ general: { ready: 6 }, spot: { ready: 6, draining: 6 } });
    await w.ports.state.acquireLease('debate-prod', 'scheduled-run', NOW_MS - 1000, 120_000);
    const result = await run(config(), w);
    expect(result.status).toBe('done');
    expect(w.traffic.calls).toHaveLength(1);
  });

  it('a spot notice takes the spot group off in one run (no healthy target: off at once)', async () => {
    const w = world({ general: { ready: 6 }, spot: { ready: 6, draining: 6 } });
    const result = await run(config(), w);
    // general heads to 100 in steps of 20: 50 + 20; spot 50 → 0 at once. ALB reads 70 : 0 as all on general.
    expect(w.traffic.weights(LISTENER, RULE)).toEqual([{ targetGroupArn: GENERAL, weight: 70 }, { targetGroupArn: SPOT, weight: 0 }]);
    expect(result.rules[0]!.reason).toContain('gateway-spot: draining 6, target 0, 50 → 0, (no healthy target: off at once)');
  });

  it('weights follow ready capacity, not target counts: 3 nodes of 3920 m beside 3 of 1930 m', async () => {
    const w = world({ general: { ready: 3 }, spot: { ready: 3 } });
    await run(config({ generalCpu: '3920m' }), w);
    // 11760 / (11760 + 5790) = 67.01 % → 67 / 33; by target counts alone (3 : 3) the weights would stay 50 / 50.
    expect(w.traffic.calls.map((c) => c.weights)).toEqual([[{ targetGroupArn: GENERAL, weight: 67 }, { targetGroupArn: SPOT, weight: 33 }]]);
  });

  it('no ModifyRule and no audit when nothing changes', async () => {
    const w = world({ general: { ready: 6 }, spot: { ready: 6 } });
    const result = await run(config(), w);
    expect(result).toEqual({ status: 'done', rules: [{ rule: 'gateway', result: 'unchanged', reason: 'weights stay' }] });
    expect(w.traffic.calls).toEqual([]);
    expect(await w.ports.state.listAudit('debate-prod', 0, 10)).toEqual([]);
    // Without an SLO in the rule, CloudWatch is not asked (GetMetricData is billed per metric).
    expect(w.queries).toEqual([]);
  });

  it('refuses a rule the AWS Load Balancer Controller manages, with the clear message, and reads nothing more', async () => {
    const w = world({ general: { ready: 6 }, spot: { ready: 6, draining: 6 } }, { managed: true });
    const result = await run(config({ slo: { p95Seconds: 0.5 } }), w);
    expect(result).toEqual({
      status: 'done',
      rules: [
        {
          rule: 'gateway',
          result: 'failed',
          reason: 'conflict: ALB rule gateway is managed by the AWS Load Balancer Controller: set weights with the Ingress annotation alb.ingress.kubernetes.io/actions.<name> instead',
        },
      ],
    });
    expect(w.traffic.calls).toEqual([]);
    expect(w.queries).toEqual([]);
    expect(await w.ports.state.listAudit('debate-prod', 0, 10)).toEqual([]);
  });

  it('does nothing while another reweight run holds its lease', async () => {
    const w = world({ general: { ready: 6 }, spot: { ready: 6, draining: 6 } });
    await w.ports.state.acquireLease('debate-prod#reweight', 'other-reweight', NOW_MS - 1000, 120_000);
    const result = await run(config(), w);
    expect(result).toEqual({ status: 'lease-held', rules: [] });
    expect(w.describes).toEqual([]);
    expect(w.traffic.calls).toEqual([]);
    expect(w.traffic.weights(LISTENER, RULE)).toEqual([{ targetGroupArn: GENERAL, weight: 50 }, { targetGroupArn: SPOT, weight: 50 }]);
  });

  it('CloudWatch failing does not hold a spot notice back: planned on health, and the outcome says why', async () => {
    const w = world({ general: { ready: 6 }, spot: { ready: 6, draining: 6 } }, { metricsError: new PrescaleError('throttling', 'Rate exceeded', { retryable: true }) });
    const result = await run(config({ slo: { p95Seconds: 0.5 } }), w);
    expect(w.traffic.weights(LISTENER, RULE)).toEqual([{ targetGroupArn: GENERAL, weight: 70 }, { targetGroupArn: SPOT, weight: 0 }]);
    expect(result.rules[0]!.reason).toContain('gateway-spot: SLO metrics not read (throttling: Rate exceeded), SLO not judged');
  });
});
