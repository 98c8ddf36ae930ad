/**
 * `missingData: zero`: a counting metric (ALB RequestCount) publishes nothing
 * for a period without events, so a gap is idle demand, not unknown demand —
 * once the series is known to exist and the datapoint has had time to arrive.
 * Without it an idle service reads as "data stopped" and holds its nodes.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/load.ts';
import type { PrescaleConfig } from '../../../lib/config/schema.ts';
import { demandAsRead, latestDemand, latestSeenStartMs, metricKey, missingAsZero, observationLagMs, reactiveReading } from '../../../lib/core/plan/demand.ts';
import { plan, rememberedSighting, type PlanInput } from '../../../lib/core/plan/plan.ts';
import type { HpaState, NodeGroupState, PlannerMemory } from '../../../lib/ports.ts';

const MIN = 60_000;
const N = Number.NaN;
const T = Date.UTC(2026, 10, 2, 10, 0);

const series = (stepMinutes: number, values: number[]) => ({ startMs: T, stepSeconds: stepMinutes * 60, values });

/** Service s (1 CPU a pod, 100 demand a pod, HPA 1–100 on CPU) on `nodeGroups`, reading `metric`. */
const serviceSpec = (nodeGroups: string[], metric: Record<string, unknown>) => ({
  name: 's',
  namespace: 'n',
  deployment: 's',
  requests: { cpu: '1', memory: '1Gi' },
  podStartMinutes: 0,
  nodeGroups,
  hpa: { minReplicas: 1, maxReplicas: 100, metrics: [{ type: 'cpu', targetUtilizationPercent: 70 }] },
  demand: { metric, perPod: 100 },
});

describe('missingAsZero', () => {
  it.each<[string, number, number[], number, number | undefined, number[]]>([
    // [case, step min, settled values from 10:00, now (after 10:00), seen since (after 10:00)] → values read
    // 1-min at 10:06:05: settled periods end ≤ 10:05:05 → 10:00..10:04. A gap is due once the next period
    // settled too: start + 2 min ≤ 10:05:05 → starts ≤ 10:03. So 10:01 and 10:03 read 0; 10:04 may still arrive.
    ['gaps after a datapoint read as zero; the newest settled waits', 1, [5, N, 7, N, N], 6 * MIN + 5_000, undefined, [5, 0, 7, 0, N]],
    // Nothing before 10:02 in this history and no earlier sighting: the metric may not have existed then.
    ['a leading gap stays unknown', 1, [N, N, 7, N, N], 6 * MIN + 5_000, undefined, [N, N, 7, 0, N]],
    ['a series never seen stays unknown', 1, [N, N, N, N, N], 6 * MIN + 5_000, undefined, [N, N, N, N, N]],
    // An earlier run saw the 09:50 period: every due gap after it is idle.
    ['seen by an earlier run', 1, [N, N, N, N, N], 6 * MIN + 5_000, -10 * MIN, [0, 0, 0, 0, N]],
    // Seen at 10:01 (a sighting inside this read): only periods starting after it count.
    ['seen by an earlier run, inside this read', 1, [N, N, N, N, N], 6 * MIN + 5_000, MIN, [N, N, 0, 0, N]],
    // 5-min at 10:21:00: settled end ≤ 10:20 → 10:00..10:15; due: start + 10 ≤ 10:20 → starts ≤ 10:10.
    ['5-min periods', 5, [4, N, N, N], 21 * MIN, undefined, [4, 0, 0, N]],
    // A millisecond earlier 10:15 has not settled (history ends at 10:10) and 10:10 is not due: start + 10 ≤ 10:19:59.999 fails.
    ['5-min periods, a millisecond before the next settles', 5, [4, N, N], 21 * MIN - 1, undefined, [4, 0, N]],
  ])('%s', (_case, stepMinutes, values, nowAfterT, seenAfterT, expected) => {
    const read = missingAsZero(series(stepMinutes, values), T + nowAfterT, seenAfterT === undefined ? undefined : T + seenAfterT);
    expect(read.values).toEqual(expected);
    expect(read.startMs).toBe(T);
  });

  it('returns the history itself when nothing is filled', () => {
    const full = series(1, [1, 2, 3]);
    expect(missingAsZero(full, T + 10 * MIN)).toBe(full);
  });

  it('turns a service gone quiet from "data stopped" into "idle"', () => {
    // 1-min Sum at 10:06:05 (lag 60 + 60 s → newest observable period 10:04:05).
    const quiet = series(1, [5, 6, 7, N, N]);
    const nowMs = T + 6 * MIN + 5_000;
    const lagMs = observationLagMs('Sum', 60);
    // As missing: the latest datapoint, 10:02, started 125 s before 10:04:05 > 120 → unknown: capacity held.
    expect(latestDemand(quiet, nowMs, lagMs)).toBeUndefined();
    // As zero: 10:03 reads 0 and started 65 s before ≤ 120 → demand 0.
    expect(latestDemand(missingAsZero(quiet, nowMs), nowMs, lagMs)).toBe(0);
  });
});

describe('demandAsRead', () => {
  // Raw read at 10:06:05, the minute in progress (10:06) holding a partial 2 and 10:05 still settling.
  const raw = series(1, [5, N, 7, N, N, 3, 2]);
  const nowMs = T + 6 * MIN + 5_000;

  it.each<[string, 'missing' | 'zero' | undefined, number[]]>([
    // Settled: ends ≤ 10:05:05 → 10:00..10:04; the gaps stay gaps.
    ['missing (the default): settled only', 'missing', [5, N, 7, N, N]],
    ['no missingData given: as missing', undefined, [5, N, 7, N, N]],
    // …and due gaps (starts ≤ 10:03) read 0.
    ['zero: settled, due gaps read 0', 'zero', [5, 0, 7, 0, N]],
  ])('%s', (_case, missingData, expected) => {
    expect(demandAsRead(raw, { stat: 'Sum', ...(missingData === undefined ? {} : { missingData }) }, nowMs).values).toEqual(expected);
  });

  it('settleSeconds moves both cuts', () => {
    // settle 120 s at 10:06:05: settled ends ≤ 10:04:05 → 10:00..10:03; due: start + 2 min ≤ 10:04:05 → starts ≤ 10:02.
    expect(demandAsRead(raw, { stat: 'Sum', missingData: 'zero', settleSeconds: 120 }, nowMs).values).toEqual([5, 0, 7, N]);
  });

  it('latestSeenStartMs is the latest period with a datapoint', () => {
    expect(latestSeenStartMs(raw)).toBe(T + 6 * MIN);
    expect(latestSeenStartMs(series(1, [N, N]))).toBeUndefined();
  });
});

describe('reactiveReading', () => {
  // Raw read at 10:06:05 of a 1-minute Sum: settled 10:00..10:04, 10:05 still settling, 10:06 in progress.
  const nowMs = T + 6 * MIN + 5_000;
  const ZERO = { stat: 'Sum', missingData: 'zero' } as const;
  it.each<[string, { stat: string; missingData?: 'missing' | 'zero' }, number[], number | undefined, boolean, number | undefined]>([
    // [case, metric, raw values from 10:00] → demandNow, inferred zero, settling at least
    ['a datapoint', ZERO, [5, 6, 7, 8, 9, N, N], 9, false, undefined],
    // 10:04 missing (not due), 10:03 due and missing → read 0, inferred
    ['a gap read as zero', ZERO, [5, 6, 7, N, N, N, N], 0, true, undefined],
    // As missing, 10:02 started 125 s before the newest observable minute (10:04:05) > 120 → unknown.
    ['the same gap as missing: unknown', { stat: 'Sum' }, [5, 6, 7, N, N, N, N], undefined, false, undefined],
    // 10:05 already holds 40 of its count: at least 40 > 0
    ['an inferred zero with a partial count settling', ZERO, [5, 6, 7, N, N, 40, N], 0, true, 40],
    // a partial below the settled demand is no news
    ['a partial below the settled demand', ZERO, [5, 6, 7, 8, 9, 4, N], 9, false, undefined],
  ])('%s', (_case, metric, values, demandNow, inferredZero, settlingAtLeast) => {
    expect(reactiveReading(series(1, values), metric, nowMs)).toMatchObject({ demandNow, inferredZero, settlingAtLeast });
  });

  it('reports the latest settled datapoint, not a partial one', () => {
    // 10:06 holds a partial 3 and 10:05 a settling 2; the latest settled datapoint is 10:02.
    expect(reactiveReading(series(1, [5, 6, 7, N, N, 2, 3]), ZERO, nowMs).latestDatapointMs).toBe(T + 2 * MIN);
  });
});

describe('rememberedSighting', () => {
  const KEY = metricKey({ namespace: 'AWS/ApplicationELB', name: 'RequestCount', dimensions: { LoadBalancer: 'app/a/1' } });
  const NOW = T + 60 * MIN;
  it.each<[string, unknown, number | undefined]>([
    ['a sighting of this metric', { metric: KEY, atMs: T }, T],
    // New dimensions are a new series: a sighting of the old one says nothing about it.
    ['a sighting of another load balancer', { metric: KEY.replace('app/a/1', 'app/b/2'), atMs: T }, undefined],
    ['a sighting after now', { metric: KEY, atMs: NOW + 1 }, undefined],
    ['a bare number (no metric)', T, undefined],
    ['not a time', { metric: KEY, atMs: 'yesterday' }, undefined],
    ['nothing', undefined, undefined],
  ])('%s', (_case, remembered, expected) => {
    expect(rememberedSighting(remembered, KEY, NOW)).toBe(expected);
  });

  it('metricKey ignores dimension order', () => {
    expect(metricKey({ namespace: 'n', name: 'm', dimensions: { b: '2', a: '1' } })).toBe('n/m{a=1,b=2}');
  });
});

describe('the planner on a service gone quiet', () => {
  const NOW = Date.UTC(2026, 10, 2, 12, 0, 5);
  const METRIC = { namespace: 'AWS/ApplicationELB', name: 'RequestCount', dimensions: { LoadBalancer: 'app/a/1' }, stat: 'Sum', periodSeconds: 60 };
  const KEY = metricKey(METRIC);
  /** One service on one group, 1 pod per node, 100 requests a minute per pod, ALB-like 1-minute Sum. */
  function scenario(missingData: 'missing' | 'zero'): PrescaleConfig {
    return parseConfig({
      version: 1,
      cluster: { name: 'c', region: 'us-east-1' },
      nodeGroups: [{ name: 'g', instanceTypes: ['m5.large'], minNodes: 2, maxNodes: 30, allocatable: { cpu: '1', memory: '1Gi', pods: 1 }, bootMinutes: 3 }],
      services: [serviceSpec(['g'], { ...METRIC, missingData })],
    });
  }
  /** Ten minutes from 11:50 plus the one in progress (12:00), as the pipeline reads them. */
  const recent = (values: number[]) => ({ startMs: Date.UTC(2026, 10, 2, 11, 50), stepSeconds: 60, values });
  // 800 a minute until 11:54, then nothing published. At 12:00:05 the settled minutes are 11:50..11:58 and the gaps
  // 11:55..11:57 are due (start + 2 min ≤ 11:59:05); 11:58 may still arrive.
  const QUIET = [800, 800, 800, 800, 800, N, N, N, N, N, N];
  const NEVER = Array<number>(11).fill(N);
  const SEEN_1130 = { s: { metric: KEY, atMs: Date.UTC(2026, 10, 2, 11, 30) } };

  function input(cfg: PrescaleConfig, values: number[], options: { hpa?: HpaState; memory?: Partial<PlannerMemory> } = {}): PlanInput {
    const group: NodeGroupState = { name: 'g', status: 'ACTIVE', desiredNodes: 10, minNodes: 2, maxNodes: 30, readyNodes: 10, bootingNodes: 0 };
    return {
      config: cfg,
      nowMs: NOW,
      trigger: 'scheduled',
      nodeGroups: [group],
      services: [{ service: 's', recentDemand: recent(values), hpa: options.hpa }],
      forecasts: new Map(),
      memory: { recommendations: {}, raisedFloors: {}, ...options.memory },
      cooldowns: new Map(),
    };
  }
  const toNodes = (out: ReturnType<typeof plan>): number => {
    const command = out.commands.find((c) => c.kind === 'scale-node-group');
    return command?.kind === 'scale-node-group' ? command.toNodes : 10;
  };
  const hpa = (currentReplicas: number): HpaState => ({ namespace: 'n', name: 's', minReplicas: 1, maxReplicas: 100, currentReplicas, desiredReplicas: currentReplicas });

  it.each<[string, 'missing' | 'zero', number[], { hpa?: HpaState; memory?: Partial<PlannerMemory> }, number, RegExp]>([
    // As missing, the latest datapoint (11:54) started 245 s before the newest observable minute (11:58:05) > 120 → unknown → hold 10.
    ['missing: a quiet service holds its nodes', 'missing', QUIET, {}, 10, /no recent demand data: holding capacity/],
    // As zero, the HPA has scaled the idle service to 1 pod: pods max(minReplicas 1, floor 0, 1) = 1 → 2 nodes (minNodes);
    // scale-in step 5: 10 → 5.
    ['zero: it follows the HPA down, a step at a time', 'zero', QUIET, { hpa: hpa(1) }, 5, /no datapoint since 2026-11-02T11:54Z: read as 0 \(missingData: zero\), keeping the 1 pods its HPA runs/],
    // The HPA still runs 7 pods (traffic may have moved to a metric prescale does not read): 7 nodes stay.
    ['zero: never below the pods its HPA runs', 'zero', QUIET, { hpa: hpa(7) }, 7, /keeping the 7 pods its HPA runs/],
    // No HPA to read: nothing guards the inference (nodes say nothing about one service's pods), so the gap is unknown.
    ['zero: without an HPA to read, the gap stays unknown', 'zero', QUIET, {}, 10, /none is readable; no recent demand data: holding capacity/],
    // A metric never seen (a wrong dimension) stays unknown: hold.
    ['zero: a metric never seen holds', 'zero', NEVER, { hpa: hpa(1) }, 10, /no recent demand data: holding capacity/],
    // Quiet for longer than the recent read, but an earlier run saw this metric at 11:30: still idle.
    ['zero: quiet longer than the read, seen earlier', 'zero', NEVER, { hpa: hpa(1), memory: { demandSeen: SEEN_1130 } }, 5, /since 2026-11-02T11:30Z/],
    // The sighting was of another load balancer: this series was never seen.
    ['zero: a sighting of another metric does not count', 'zero', NEVER, { hpa: hpa(1), memory: { demandSeen: { s: { metric: KEY.replace('app/a/1', 'app/b/2'), atMs: 0 } } } }, 10, /holding capacity/],
    // 11:59 holds a partial 50 while 11:57 reads 0: the partial raises the floor (ceil(50 / 90) = 1) and the 10 pods the HPA runs stay.
    ['zero: a partial count settling does not bypass the HPA', 'zero', [...QUIET.slice(0, 9), 50, N], { hpa: hpa(10) }, 10, /demand ≥ 50 in a period still settling.*keeping the 10 pods its HPA runs/],
  ])('%s', (_case, missingData, values, options, expectedNodes, reason) => {
    const out = plan(input(scenario(missingData), values, options));
    expect(toNodes(out)).toBe(expectedNodes);
    expect(out.services[0]!.reason).toMatch(reason);
  });

  it('an alarm run never scales in on an inferred zero', () => {
    // Alarm runs only scale out: the HPA's 1 pod would allow 5, but the 10 nodes stay.
    const out = plan({ ...input(scenario('zero'), QUIET, { hpa: hpa(1) }), trigger: 'alarm' });
    expect(toNodes(out)).toBe(10);
  });

  it('a published zero is demand, not an inference: the HPA guard does not apply', () => {
    // 0 published 11:55..11:58; demand reads 11:58 = 0: reactive floor 0 → pods 1 → 10 → 5 even though the HPA runs 7.
    const published = [800, 800, 800, 800, 800, 0, 0, 0, 0, N, N];
    const out = plan(input(scenario('zero'), published, { hpa: hpa(7) }));
    expect(toNodes(out)).toBe(5);
    expect(out.services[0]!.reason).toMatch(/demand 0 → reactive floor 0 pods/);
  });

  it('an inferred zero neither scores calibration nor moves the forecast', () => {
    // A pending prediction for 11:56 (a gap read as zero) stays pending; with a forecast of 800 from 11:55, the level
    // correction sees no datapoint since (11:55..11:57 are gaps): offset 0, so p90 800 → 8 pods.
    const forecast = { model: 'flat', startMs: Date.UTC(2026, 10, 2, 11, 55), stepSeconds: 60, point: Array(30).fill(800), quantiles: [{ level: 0.9, values: Array(30).fill(800) }] };
    const calibration = { s: { level: 0.9, pending: [{ startMs: Date.UTC(2026, 10, 2, 11, 56), value: 800 }] } };
    const cfg = scenario('zero');
    const out = plan({ ...input(cfg, QUIET, { hpa: hpa(1), memory: { calibration } }), forecasts: new Map([['s', forecast]]) });
    expect(out.memory.calibration?.['s']?.level).toBe(0.9);
    expect(out.memory.calibration?.['s']?.pending.map((p) => (p.startMs - Date.UTC(2026, 10, 2, 11, 50)) / MIN)).toContain(6);
    expect(out.services[0]!.reason).toMatch(/p90 forecast 800 within 4 min → 8 pods/);
  });

  it.each<[string, 'missing' | 'zero', number[], Partial<PlannerMemory>, PlannerMemory['demandSeen']]>([
    // The latest settled datapoint (11:54) is remembered, with the metric it was seen on…
    ['remembers the latest datapoint', 'zero', QUIET, {}, { s: { metric: KEY, atMs: Date.UTC(2026, 10, 2, 11, 54) } }],
    // …a later one replaces memory, and an older memory is kept through a read with none.
    ['a later sighting replaces memory', 'zero', QUIET, { demandSeen: SEEN_1130 }, { s: { metric: KEY, atMs: Date.UTC(2026, 10, 2, 11, 54) } }],
    ['memory is kept through a silent read', 'zero', NEVER, { demandSeen: SEEN_1130 }, SEEN_1130],
    // Nothing to remember for a service that reads gaps as missing (and a stale entry is dropped).
    ['not kept for missing', 'missing', QUIET, { demandSeen: SEEN_1130 }, undefined],
  ])('%s', (_case, missingData, values, memory, expected) => {
    expect(plan(input(scenario(missingData), values, { memory })).memory.demandSeen).toEqual(expected);
  });

  it('a shared group does not grow run after run around a service with no HPA to read', () => {
    // Service s reads gaps as zero with no HPA; t (1000 a minute → ceil(1000 / 90) = 12 pods) shares group g.
    // Reading s's gap as "the pods its nodes hold" would claim all 10 nodes for s and pack t on top, every run.
    const base = scenario('zero');
    const t = { ...base.services[0]!, name: 't', deployment: 't', demand: { ...base.services[0]!.demand, metric: { ...base.services[0]!.demand.metric, dimensions: { LoadBalancer: 'app/t/2' } } } };
    const cfg: PrescaleConfig = { ...base, services: [base.services[0]!, t] };
    let desired = 10;
    for (let run = 0; run < 4; run++) {
      const one = input(cfg, QUIET);
      const out = plan({
        ...one,
        nodeGroups: [{ ...one.nodeGroups[0]!, desiredNodes: desired, readyNodes: desired }],
        services: [...one.services, { service: 't', recentDemand: recent(Array<number>(11).fill(1000)), hpa: undefined }],
      });
      const command = out.commands.find((c) => c.kind === 'scale-node-group');
      desired = command?.kind === 'scale-node-group' ? command.toNodes : desired;
    }
    // s unknown → its minReplicas 1 pod, t 12 pods → 13 nodes: 10 → 13 on the first run, then 13 every run
    // (the old guard counted all the group's ready pods as s's and packed t on top: 10 → 22 → 30, its maximum).
    expect(desired).toBe(13);
  });
});

describe('unknown demand guards every group the service may use', () => {
  it('a plan made without the demand may move the service, but the group it leaves keeps its nodes', () => {
    // Groups ga (4 pods a node) and gb (3 pods a node); s may use both. Settled demand is stale, but 11:59 still
    // settling holds 300 (a lower bound). With no HPA, s's current pods are gb's 2 nodes × 3 = 6; the HPA formula on
    // 300 / (6 × 100 × 0.9) = 0.56 gives ceil(6 × 0.56) = ceil(3.33) = 4 pods, which pack on ga with no waste (gb: 2 nodes, 2 wasted).
    // gb had 2 nodes running s: without the guard its recommendation (0 → minNodes 1) would release one of them.
    const cfg = parseConfig({
      version: 1,
      cluster: { name: 'c', region: 'us-east-1' },
      nodeGroups: [
        { name: 'ga', instanceTypes: ['m5.large'], minNodes: 0, maxNodes: 30, allocatable: { cpu: '4', memory: '16Gi', pods: 20 }, bootMinutes: 3 },
        { name: 'gb', instanceTypes: ['m5.large'], minNodes: 1, maxNodes: 30, allocatable: { cpu: '3', memory: '16Gi', pods: 20 }, bootMinutes: 3 },
      ],
      services: [serviceSpec(['gb', 'ga'], { namespace: 'x', name: 'y', stat: 'Sum', periodSeconds: 60 })],
    });
    const NOW = Date.UTC(2026, 10, 2, 12, 0, 5);
    // From 11:50: data until 11:53 (stale at 12:00:05), then nothing; 11:59 (ended 5 s ago) holds a partial 300.
    const values = [100, 100, 100, 100, N, N, N, N, N, 300, N];
    const out = plan({
      config: cfg,
      nowMs: NOW,
      trigger: 'scheduled',
      nodeGroups: [
        { name: 'ga', status: 'ACTIVE', desiredNodes: 0, minNodes: 0, maxNodes: 30, readyNodes: 0, bootingNodes: 0 },
        { name: 'gb', status: 'ACTIVE', desiredNodes: 2, minNodes: 1, maxNodes: 30, readyNodes: 2, bootingNodes: 0 },
      ],
      services: [{ service: 's', recentDemand: { startMs: Date.UTC(2026, 10, 2, 11, 50), stepSeconds: 60, values }, hpa: undefined }],
      forecasts: new Map(),
      memory: { recommendations: {}, raisedFloors: {} },
      cooldowns: new Map(),
    });
    expect(out.services[0]!.reason).toMatch(/demand ≥ 300 in a period still settling → reactive floor 4 pods; no settled demand data/);
    // ga scales out for the 4 pods; gb keeps its 2 nodes, and says why.
    expect(out.commands.filter((c) => c.kind === 'scale-node-group').map((c) => (c.kind === 'scale-node-group' ? `${c.nodeGroup} ${c.fromNodes}→${c.toNodes}` : ''))).toEqual(['ga 0→1']);
  });
});
