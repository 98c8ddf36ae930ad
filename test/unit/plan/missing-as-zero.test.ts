/**
 * `missingData: zero`: a counting metric (ALB RequestCount) publishes nothing
 * for a period without events, so a gap is idle demand, not unknown demand —
 * once the series is known to exist and the datapoint has had time to arrive.
 * Without it an idle service reads as "data stopped" and holds its nodes.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/load.ts';
import type { PrescaleConfig } from '../../../lib/config/schema.ts';
import { demandAsRead, latestDemand, latestSeenStartMs, missingAsZero, observationLagMs } from '../../../lib/core/plan/demand.ts';
import { plan, type PlanInput } from '../../../lib/core/plan/plan.ts';
import type { HpaState, NodeGroupState, PlannerMemory } from '../../../lib/ports.ts';

const MIN = 60_000;
const NaN_ = Number.NaN;
const T = Date.UTC(2026, 10, 2, 10, 0);

const series = (stepMinutes: number, values: number[]) => ({ startMs: T, stepSeconds: stepMinutes * 60, values });

describe('missingAsZero', () => {
  it.each<[string, number, number[], number, number | undefined, number[]]>([
    // [case, step min, settled values from 10:00, now (after 10:00), seen since (after 10:00)] → values read
    // 1-min at 10:06:05: settled periods end ≤ 10:05:05 → 10:00..10:04. A gap is due once the next period
    // settled too: start + 2 min ≤ 10:05:05 → starts ≤ 10:03. So 10:01 and 10:03 read 0; 10:04 may still arrive.
    ['gaps after a datapoint read as zero; the newest settled waits', 1, [5, NaN_, 7, NaN_, NaN_], 6 * MIN + 5_000, undefined, [5, 0, 7, 0, NaN_]],
    // Nothing before 10:02 in this history and no earlier sighting: the metric may not have existed then.
    ['a leading gap stays unknown', 1, [NaN_, NaN_, 7, NaN_, NaN_], 6 * MIN + 5_000, undefined, [NaN_, NaN_, 7, 0, NaN_]],
    ['a series never seen stays unknown', 1, [NaN_, NaN_, NaN_, NaN_, NaN_], 6 * MIN + 5_000, undefined, [NaN_, NaN_, NaN_, NaN_, NaN_]],
    // An earlier run saw the 09:50 period: every due gap after it is idle.
    ['seen by an earlier run', 1, [NaN_, NaN_, NaN_, NaN_, NaN_], 6 * MIN + 5_000, -10 * MIN, [0, 0, 0, 0, NaN_]],
    // Seen at 10:01 (a sighting inside this read): only periods starting after it count.
    ['seen by an earlier run, inside this read', 1, [NaN_, NaN_, NaN_, NaN_, NaN_], 6 * MIN + 5_000, MIN, [NaN_, NaN_, 0, 0, NaN_]],
    // 5-min at 10:21:00: settled end ≤ 10:20 → 10:00..10:15; due: start + 10 ≤ 10:20 → starts ≤ 10:10.
    ['5-min periods', 5, [4, NaN_, NaN_, NaN_], 21 * MIN, undefined, [4, 0, 0, NaN_]],
    // A millisecond earlier 10:15 has not settled (history ends at 10:10) and 10:10 is not due: start + 10 ≤ 10:19:59.999 fails.
    ['5-min periods, a millisecond before the next settles', 5, [4, NaN_, NaN_], 21 * MIN - 1, undefined, [4, 0, NaN_]],
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
    const quiet = series(1, [5, 6, 7, NaN_, NaN_]);
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
  const raw = series(1, [5, NaN_, 7, NaN_, NaN_, 3, 2]);
  const nowMs = T + 6 * MIN + 5_000;

  it.each<[string, 'missing' | 'zero' | undefined, number[]]>([
    // Settled: ends ≤ 10:05:05 → 10:00..10:04; the gaps stay gaps.
    ['missing (the default): settled only', 'missing', [5, NaN_, 7, NaN_, NaN_]],
    ['no missingData given: as missing', undefined, [5, NaN_, 7, NaN_, NaN_]],
    // …and due gaps (starts ≤ 10:03) read 0.
    ['zero: settled, due gaps read 0', 'zero', [5, 0, 7, 0, NaN_]],
  ])('%s', (_case, missingData, expected) => {
    expect(demandAsRead(raw, { stat: 'Sum', ...(missingData === undefined ? {} : { missingData }) }, nowMs).values).toEqual(expected);
  });

  it('settleSeconds moves both cuts', () => {
    // settle 120 s at 10:06:05: settled ends ≤ 10:04:05 → 10:00..10:03; due: start + 2 min ≤ 10:04:05 → starts ≤ 10:02.
    expect(demandAsRead(raw, { stat: 'Sum', missingData: 'zero', settleSeconds: 120 }, nowMs).values).toEqual([5, 0, 7, NaN_]);
  });

  it('latestSeenStartMs is the latest period with a datapoint', () => {
    expect(latestSeenStartMs(raw)).toBe(T + 6 * MIN);
    expect(latestSeenStartMs(series(1, [NaN_, NaN_]))).toBeUndefined();
  });
});

describe('the planner on a service gone quiet', () => {
  const NOW = Date.UTC(2026, 10, 2, 12, 0, 5);
  /** One service on one group, 1 pod per node, 100 requests a minute per pod, ALB-like 1-minute Sum. */
  function scenario(missingData: 'missing' | 'zero'): PrescaleConfig {
    return parseConfig({
      version: 1,
      cluster: { name: 'c', region: 'us-east-1' },
      nodeGroups: [{ name: 'g', instanceTypes: ['m5.large'], minNodes: 2, maxNodes: 30, allocatable: { cpu: '1', memory: '1Gi', pods: 1 }, bootMinutes: 3 }],
      services: [
        {
          name: 's',
          namespace: 'n',
          deployment: 's',
          requests: { cpu: '1', memory: '1Gi' },
          podStartMinutes: 0,
          nodeGroups: ['g'],
          hpa: { minReplicas: 1, maxReplicas: 100, metrics: [{ type: 'cpu', targetUtilizationPercent: 70 }] },
          demand: { metric: { namespace: 'AWS/ApplicationELB', name: 'RequestCount', stat: 'Sum', periodSeconds: 60, missingData }, perPod: 100 },
        },
      ],
    });
  }
  /** Ten minutes from 11:50 plus the one in progress (12:00), as the pipeline reads them. */
  const recent = (values: number[]) => ({ startMs: Date.UTC(2026, 10, 2, 11, 50), stepSeconds: 60, values });
  // 800 a minute until 11:54, then nothing published.
  const QUIET = [800, 800, 800, 800, 800, NaN_, NaN_, NaN_, NaN_, NaN_, NaN_];
  const NEVER = Array<number>(11).fill(NaN_);

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
    // At 12:00:05 the settled minutes end at 11:58; 11:55..11:57 are due. As missing, the latest datapoint
    // (11:54) started 245 s before the newest observable minute (11:58:05) > 120 → unknown → hold 10.
    ['missing: a quiet service holds its nodes', 'missing', QUIET, {}, 10, /no recent demand data: holding capacity/],
    // As zero: 11:57 reads 0 → pods max(minReplicas 1, 0) = 1 → 2 nodes (minNodes); scale-in step 5: 10 → 5.
    ['zero: it scales in, a step at a time', 'zero', QUIET, {}, 5, /no datapoint since 2026-11-02T11:54Z: demand read as 0 \(missingData: zero\)/],
    // The HPA still runs 7 pods (traffic may have moved to a metric prescale does not read): 7 nodes stay.
    ['zero: never below the pods its HPA runs', 'zero', QUIET, { hpa: hpa(7) }, 7, /holding the 7 pods its HPA runs/],
    // A metric never seen (a wrong dimension) stays unknown: hold.
    ['zero: a metric never seen holds', 'zero', NEVER, {}, 10, /no recent demand data: holding capacity/],
    // Quiet for longer than the recent read, but an earlier run saw it at 11:30: still idle.
    ['zero: quiet longer than the read, seen earlier', 'zero', NEVER, { memory: { demandSeenMs: { s: Date.UTC(2026, 10, 2, 11, 30) } } }, 5, /since 2026-11-02T11:30Z/],
    // A memory entry that is not a time is ignored, not trusted: as never seen.
    ['zero: a malformed memory is ignored', 'zero', NEVER, { memory: { demandSeenMs: { s: 'yesterday' as unknown as number } } }, 10, /holding capacity/],
  ])('%s', (_case, missingData, values, options, expectedNodes, reason) => {
    const out = plan(input(scenario(missingData), values, options));
    expect(toNodes(out)).toBe(expectedNodes);
    expect(out.services[0]!.reason).toMatch(reason);
  });

  it('a real zero is demand, not an inference: the HPA guard does not apply', () => {
    // 0 published at 11:57: reactive floor 0 → pods 1 → 10 → 5 even though the HPA runs 7.
    const published = [800, 800, 800, 800, 800, 0, 0, 0, 0, NaN_, NaN_];
    const out = plan(input(scenario('zero'), published, { hpa: hpa(7) }));
    expect(toNodes(out)).toBe(5);
    expect(out.services[0]!.reason).toMatch(/demand 0 → reactive floor 0 pods/);
  });

  it.each<[string, 'missing' | 'zero', number[], Partial<PlannerMemory>, Record<string, number> | undefined]>([
    // The latest datapoint in the raw read (11:54) is remembered…
    ['remembers the latest datapoint', 'zero', QUIET, {}, { s: Date.UTC(2026, 10, 2, 11, 54) }],
    // …and a later one wins over memory; an older memory is kept when the read has none.
    ['a later sighting replaces memory', 'zero', QUIET, { demandSeenMs: { s: Date.UTC(2026, 10, 2, 11, 30) } }, { s: Date.UTC(2026, 10, 2, 11, 54) }],
    ['memory is kept through a silent read', 'zero', NEVER, { demandSeenMs: { s: Date.UTC(2026, 10, 2, 11, 30) } }, { s: Date.UTC(2026, 10, 2, 11, 30) }],
    // Nothing to remember for a service that reads gaps as missing (and a stale entry is dropped).
    ['not kept for missing', 'missing', QUIET, { demandSeenMs: { s: 1 } }, undefined],
  ])('%s', (_case, missingData, values, memory, expected) => {
    expect(plan(input(scenario(missingData), values, { memory })).memory.demandSeenMs).toEqual(expected);
  });
});
