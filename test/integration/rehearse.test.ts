/**
 * The cost ceiling's rehearsal: the first scheduled run of a deployment with
 * no ceiling in memory replays the last day on the simulated cloud and
 * starts from the ceiling that day ends with — the same ceiling a deployment
 * that had lived that day would have.
 */
import { describe, expect, it } from 'vitest';
import type { PrescaleConfig } from '../../lib/config/schema.ts';
import type { DemandHistory, Forecaster } from '../../lib/core/forecast/types.ts';
import { PrescaleError } from '../../lib/errors.ts';
import { rehearsalConfig, rehearsalDayStartMs, rehearsalMinutes, rehearsalSpanMinutes, rehearseCostCeiling, REHEARSAL_MINUTES } from '../../lib/pipeline/rehearse.ts';
import { runPipeline, type PipelinePorts, type RunOptions } from '../../lib/pipeline/run.ts';
import { createSimCloud, type SimCloud } from '../../lib/sim/cloud.ts';
import { createMemoryStateStore } from '../../lib/state/memory.ts';
import { webClusterConfig, webService } from '../support/web-cluster.ts';
import type { StateStore } from '../../lib/ports.ts';

const MINUTE_MS = 60_000;
const METRIC = { namespace: 'Test', name: 'Requests', dimensions: {}, stat: 'Average', periodSeconds: 60 };
/** Midnight: on the 5-minute epoch grid retention coarsens to, so old and rehearsed reads see the same periods. */
const T0 = Date.UTC(2026, 10, 2);
const DAYS = 3;
/** Now: two and a half days in, so the rehearsed day has a day and a half of history before it. */
const NOW_MINUTE = 2 * 1440 + 720;

/**
 * Tomorrow is like the last minute, and the quantile at level q is
 * last × (1 + 2 (q − 0.5)): at 0.9 that is 1.8 × demand, dearer than the
 * shadow HPA's 1 / 0.7 = 1.43 ×, so the ceiling lowers the level.
 */
const wideForecaster: Forecaster = {
  name: 'wide',
  forecast: ({ history, horizonSteps, levels }) => {
    const last = [...history.values].reverse().find((v) => !Number.isNaN(v)) ?? 0;
    const point = Array<number>(horizonSteps).fill(last);
    return {
      model: 'wide',
      startMs: history.startMs + history.values.length * history.stepSeconds * 1000,
      stepSeconds: history.stepSeconds,
      point,
      quantiles: levels.map((level) => ({ level, values: point.map((v) => v * (1 + 2 * (level - 0.5))) })),
    };
  },
};

/** A service of the test cluster with room to 200 replicas; `perPod` demand per pod. */
const service = (name: string, metric: typeof METRIC, perPod: number, hpaMetrics?: unknown[]) => webService(name, metric, { perPod, maxReplicas: 200, hpaMetrics });

function config(overrides: Record<string, unknown> = {}, hpaMetrics?: unknown[], metric: typeof METRIC = METRIC, perPod = 100): PrescaleConfig {
  return webClusterConfig(100, { services: [service('api', metric, perPod, hpaMetrics)], policy: { scheduleMinutes: 5 }, ...overrides });
}

/** A daily wave 1000–3000, lowest at midnight, with a deterministic ripple: minute m → 2000 − 1000 cos(2πm/1440) + 37 (m mod 7). */
const demand = Float64Array.from({ length: DAYS * 1440 }, (_, m) => Math.round(2000 - 1000 * Math.cos((2 * Math.PI * m) / 1440)) + 37 * (m % 7));

/** Whether a batch is the rehearsal's read of the day (at NOW_MINUTE, whose read starts rehearsalDayStartMs: a day and its lead earlier). */
const readsTheRehearsedDay = (requests: readonly { readonly startMs: number }[]): boolean => requests.some((r) => r.startMs === rehearsalDayStartMs(config(), T0 + NOW_MINUTE * MINUTE_MS));

interface Harness {
  readonly cloud: SimCloud;
  readonly state: StateStore;
  readonly ports: PipelinePorts;
  run(minute: number, options?: Partial<RunOptions>): ReturnType<typeof runPipeline>;
}

function harness(cfg: PrescaleConfig, initialNodes = 10, values: Float64Array = demand, metric: typeof METRIC = METRIC): Harness {
  const cloud = createSimCloud(cfg, T0, { web: initialNodes });
  cloud.metrics.add(metric, values);
  const state = createMemoryStateStore();
  const ports: PipelinePorts = { clock: cloud.clock, metrics: cloud.metrics, capacity: cloud.capacity, manifests: undefined, state, forecaster: wideForecaster };
  return {
    cloud,
    state,
    ports,
    run: (minute, options = {}) => {
      cloud.goToMinute(minute);
      return runPipeline(cfg, ports, { trigger: 'scheduled', actor: 'scheduled', runId: `run-${minute}`, ...options });
    },
  };
}

describe('rehearsalMinutes', () => {
  it.each<[string, number, number, number, number[]]>([
    // Every 5 minutes back from now − 5 = 1435 to now − 1440 = 0: 1440 / 5 = 288 runs, 0 … 1435.
    ['a full day', 1440, 5, 0, Array.from({ length: 288 }, (_, i) => 5 * i)],
    // History from minute 1430: runs at 1430 and 1435 only.
    ['history shorter than a day', 1440, 5, 1430, [1430, 1435]],
    // No run before now − schedule has history.
    ['no history before now', 1440, 5, 1436, []],
    // An hourly schedule: 24 runs, the last an hour before now (3000 − 60 = 2940), the first at 3000 − 1440 = 1560.
    ['hourly', 3000, 60, 0, Array.from({ length: 24 }, (_, i) => 1560 + 60 * i)],
  ])('%s', (_, nowMinute, scheduleMinutes, firstHistoryMinute, expected) => {
    expect(rehearsalMinutes(nowMinute, scheduleMinutes, firstHistoryMinute)).toEqual(expected);
  });

  it('never replays more than a day', () => {
    expect(REHEARSAL_MINUTES).toBe(1440);
  });
});

describe('rehearsalSpanMinutes', () => {
  it.each<[number, number, number, number]>([
    // 3 services: 4320 / 3 = 1440 one-minute runs each and 72 / 3 = 24 hourly refits each → the whole day.
    [1, 60, 3, 1440],
    // 4 services: min(1440, 4320 / 4 = 1080 runs × 1 min, 72 / 4 = 18 refits × 60 min = 1080) = 1080 minutes.
    [1, 60, 4, 1080],
    // 12 services: min(360 × 1, 6 × 60) = 360; 30: min(144 × 1, floor(2.4) = 2 × 60) = 120.
    [1, 60, 12, 360],
    [1, 60, 30, 120],
    // 100 services: min(43 × 1, at least one refit each → 1 × 60) = 43.
    [1, 60, 100, 43],
    // A 5-minute schedule with 12 services: min(1440, 360 × 5 = 1800, 6 × 60 = 360) = 360: the refits bind.
    [5, 60, 12, 360],
  ])('schedule %i min, refit %i min, %i services → the last %i minutes', (scheduleMinutes, refitMinutes, services, expected) => {
    expect(rehearsalSpanMinutes(scheduleMinutes, refitMinutes, services)).toBe(expected);
  });
});

describe('rehearsalConfig', () => {
  it('counts a plan a human would be asked to approve as approved, keeps the caps, and keys each service’s metric by the service', () => {
    const cfg = config({ budget: { monthlyUsd: 500, hourlyUsd: 2, approval: { capacityChangePercent: 10 } } });
    const rehearsed = rehearsalConfig(cfg);
    expect(rehearsed.budget).toMatchObject({ monthlyUsd: 500, hourlyUsd: 2, approval: { capacityChangePercent: Infinity, costChangeUsdPerHour: Infinity, projectedSpendPercent: Infinity } });
    // Planned as configured: a coarser schedule would plan for a longer horizon and rehearse a dearer deployment.
    expect(rehearsed.policy).toBe(cfg.policy);
    expect(rehearsed.services[0]!.demand.metric).toEqual({ ...cfg.services[0]!.demand.metric, dimensions: { PrescaleRehearsalService: 'api' } });
    expect(rehearsed.nodeGroups).toBe(cfg.nodeGroups);
    // Without a budget there is nothing to approve.
    expect(rehearsalConfig(config()).budget).toBeUndefined();
  });
});

describe('the cost ceiling rehearsal', () => {
  const SUM_5MIN = { ...METRIC, stat: 'Sum', periodSeconds: 300 };
  it.each([
    ['a 1-minute Average', METRIC, NOW_MINUTE],
    // A Sum is replayed as spread minutes and served once settled, by the lived cloud and the rehearsal alike.
    ['a 5-minute Sum', SUM_5MIN, NOW_MINUTE],
    // Now 2 minutes past the 5-minute grid: the rehearsal's cloud starts 28 days before now, so the grid's periods start at
    // its minute 3, not 0 (anchorMinute); replayed from 0 they would straddle two real periods.
    ['a 5-minute Sum, now off its grid', SUM_5MIN, NOW_MINUTE + 2],
  ])('ends with the ceiling a deployment that lived the last day would have, demand read as %s', async (_, metric, nowMinute) => {
    // A 5-minute Sum counts five minutes of demand: 500 per pod is the same 100 a minute.
    const cfg = config({}, undefined, metric, metric.stat === 'Sum' ? 500 : 100);
    // Lived: cold at now − 1440, a run every 5 minutes up to now − 5, from 10 nodes.
    const lived = harness(cfg, 10, demand, metric);
    for (const minute of rehearsalMinutes(nowMinute, 5, 0)) await lived.run(minute, { rehearse: false });
    const livedCeiling = (await lived.state.getPlannerMemory('test'))!.costCeiling!;
    // Rehearsed: at now, from the history alone, the fleet as it stands now (10 nodes, as the lived day started).
    const fresh = harness(cfg, 10, demand, metric);
    fresh.cloud.goToMinute(nowMinute);
    const nodeGroups = await fresh.cloud.capacity.describeNodeGroups('test', ['web']);
    const rehearsal = await rehearseCostCeiling(cfg, fresh.ports, nodeGroups, undefined, T0 + nowMinute * MINUTE_MS, runPipeline);
    expect(rehearsal?.runs).toBe(288);
    expect(rehearsal?.ceiling).toEqual(livedCeiling);
    // …and that day steered: 24 hours of spends, prescale's above the shadow's, the level lowered.
    expect(livedCeiling.hours).toHaveLength(24);
    expect(livedCeiling.shift).toBeLessThan(-0.1);
  });

  it('replays each service from its own reads when two read one metric at different periods', async () => {
    // api reads the metric as a 1-minute Sum, batch as a 5-minute one: one series live, two different reads.
    const sum1 = { ...METRIC, stat: 'Sum' };
    const cfg = config({
      services: [service('api', sum1, 100), service('batch', SUM_5MIN, 500)],
    });
    const lived = harness(cfg, 10, demand, sum1);
    for (const minute of rehearsalMinutes(NOW_MINUTE, 5, 0)) await lived.run(minute, { rehearse: false });
    const fresh = harness(cfg, 10, demand, sum1);
    fresh.cloud.goToMinute(NOW_MINUTE);
    const nodeGroups = await fresh.cloud.capacity.describeNodeGroups('test', ['web']);
    const rehearsal = await rehearseCostCeiling(cfg, fresh.ports, nodeGroups, undefined, T0 + NOW_MINUTE * MINUTE_MS, runPipeline);
    // Keyed by metric alone, batch's 5-minute sums spread over their minutes would have replaced api's minutes.
    expect(rehearsal?.ceiling).toEqual((await lived.state.getPlannerMemory('test'))!.costCeiling);
  });

  it('reads gaps as zero beside the HPA the run found, as the live runs do (missingData: zero)', async () => {
    // A counting metric silent every other minute from 22:00 to 06:00: live, those gaps read as 0 beside the HPA's replicas.
    const counted = { ...METRIC, stat: 'Sum', missingData: 'zero' };
    const sparse = Float64Array.from(demand, (v, m) => ((m % 1440 >= 1320 || m % 1440 < 360) && m % 2 === 1 ? Number.NaN : v));
    const cfg = config({}, undefined, counted, 100);
    const hpa = { namespace: 'prod', name: 'api', minReplicas: 1, maxReplicas: 200, currentReplicas: 4, desiredReplicas: 4 };
    const withHpa = (h: Harness): Harness => {
      h.cloud.manifests.seedHpa(hpa);
      const ports = { ...h.ports, manifests: h.cloud.manifests };
      return { ...h, ports, run: (minute, options = {}) => (h.cloud.goToMinute(minute), runPipeline(cfg, ports, { trigger: 'scheduled', actor: 'scheduled', runId: `run-${minute}`, ...options })) };
    };
    const lived = withHpa(harness(cfg, 10, sparse, counted));
    for (const minute of rehearsalMinutes(NOW_MINUTE, 5, 0)) await lived.run(minute, { rehearse: false });
    const fresh = withHpa(harness(cfg, 10, sparse, counted));
    fresh.cloud.goToMinute(NOW_MINUTE);
    const nodeGroups = await fresh.cloud.capacity.describeNodeGroups('test', ['web']);
    const rehearsed = await rehearseCostCeiling(cfg, fresh.ports, nodeGroups, [hpa], T0 + NOW_MINUTE * MINUTE_MS, runPipeline);
    const livedCeiling = (await lived.state.getPlannerMemory('test'))!.costCeiling!;
    expect(rehearsed?.ceiling).toEqual(livedCeiling);
    // Without the HPA the night's gaps stay unknown: those runs price nothing, and the day differs.
    const blind = await rehearseCostCeiling(cfg, fresh.ports, nodeGroups, undefined, T0 + NOW_MINUTE * MINUTE_MS, runPipeline);
    expect(blind?.ceiling).not.toEqual(livedCeiling);
  });

  it('replays a larger cluster as it runs over the latest hours, and ends with the ceiling those hours lived would give', async () => {
    // 4 services at a 1-minute schedule: the last 1080 minutes (rehearsalSpanMinutes), 1080 runs.
    const cfg = config({ policy: { scheduleMinutes: 1 }, services: ['a', 'b', 'c', 'd'].map((name) => service(name, METRIC, 400)) });
    const lived = harness(cfg, 10);
    for (const minute of rehearsalMinutes(NOW_MINUTE, 1, 0, 1080)) await lived.run(minute, { rehearse: false });
    const h = harness(cfg, 10);
    let refits = 0;
    const forecaster: Forecaster = { name: 'counting', forecast: (request) => (refits++, wideForecaster.forecast(request)) };
    h.cloud.goToMinute(NOW_MINUTE);
    const nodeGroups = await h.cloud.capacity.describeNodeGroups('test', ['web']);
    const rehearsal = await rehearseCostCeiling(cfg, { ...h.ports, forecaster }, nodeGroups, undefined, T0 + NOW_MINUTE * MINUTE_MS, runPipeline);
    expect(rehearsal).toMatchObject({ runs: 1080, spanMinutes: 1080 });
    // Refits hourly from the first replayed minute: 1080 / 60 = 18 a service, 72 in all (REHEARSAL_MAX_SERVICE_REFITS).
    expect(refits).toBe(72);
    // Exactly the lived 18 hours: the 6 before them count as even, as for a cold ceiling. Spends accrue from the first run
    // to the last (1079 minutes); the live run accrues the last one's minute.
    expect(rehearsal?.ceiling).toEqual((await lived.state.getPlannerMemory('test'))!.costCeiling);
    expect(rehearsal?.ceiling.hours.reduce((minutes, [, m]) => minutes + m, 0)).toBeCloseTo(1079, 6);
  });

  it('a store that refuses the cold ceiling leaves the run acting, its ceiling cold, and the reason in the result', async () => {
    const h = harness(config(), 2);
    const put = h.state.putPlannerMemory.bind(h.state);
    let puts = 0;
    h.state.putPlannerMemory = async (lease, memory) => {
      if (++puts === 1) throw new PrescaleError('throttling', 'ProvisionedThroughputExceeded', { retryable: true });
      return put(lease, memory);
    };
    const result = await h.run(NOW_MINUTE);
    expect(result.costCeilingRehearsal).toEqual({ outcome: 'failed', error: 'throttling: ProvisionedThroughputExceeded' });
    // Noon demand 2000 + ripple at p90 × 1.8 needs far more than 2 nodes: the run scaled out all the same.
    expect(result.outcomes.map((o) => o.result)).toEqual(['applied']);
    expect((await h.state.getPlannerMemory('test'))!.costCeiling).toMatchObject({ hours: [], shift: 0 });
  });

  it('an alarm run before the first scheduled run starts no ceiling, so that run still rehearses', async () => {
    const h = harness(config(), 10);
    await h.run(NOW_MINUTE - 2, { trigger: 'alarm', actor: 'alarm' });
    expect((await h.state.getPlannerMemory('test'))?.costCeiling).toBeUndefined();
    expect((await h.run(NOW_MINUTE)).costCeilingRehearsal).toMatchObject({ outcome: 'rehearsed', runs: 288 });
  });

  it('saves a cold ceiling before it rehearses: a rehearsal the invocation does not outlive is not tried again', async () => {
    const h = harness(config(), 10);
    const getDemandMany = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
    let release: () => void = () => undefined;
    const rehearsalStarted = new Promise<void>((started) => {
      h.cloud.metrics.getDemandMany = async (requests) => {
        if (readsTheRehearsedDay(requests)) {
          started();
          await new Promise<void>((resolve) => (release = resolve));
        }
        return getDemandMany(requests);
      };
    });
    const run = h.run(NOW_MINUTE);
    await rehearsalStarted;
    // Mid-rehearsal (where a timeout would end the invocation), memory already holds a ceiling the next run reads as one.
    expect((await h.state.getPlannerMemory('test'))!.costCeiling).toEqual({ hours: [], ourUsdPerHour: 0, reactiveUsdPerHour: 0, shift: 0, atMs: T0 + NOW_MINUTE * MINUTE_MS });
    release();
    expect((await run).costCeilingRehearsal).toMatchObject({ outcome: 'rehearsed' });
  });

  it('reuses a forecast window the run already read: the same ceiling, one read fewer', async () => {
    const cfg = config();
    const h = harness(cfg, 10);
    h.cloud.goToMinute(NOW_MINUTE);
    const nowMs = T0 + NOW_MINUTE * MINUTE_MS;
    const nodeGroups = await h.cloud.capacity.describeNodeGroups('test', ['web']);
    const window = await h.cloud.metrics.getDemand(METRIC, nowMs - 28 * 1440 * MINUTE_MS, nowMs + 1);
    const reads: number[] = [];
    const getDemandMany = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
    h.cloud.metrics.getDemandMany = async (requests) => (reads.push(requests.length), getDemandMany(requests));
    const reused = await rehearseCostCeiling(cfg, h.ports, nodeGroups, undefined, nowMs, runPipeline, new Map([['api', window]]));
    const readAgain = await rehearseCostCeiling(cfg, h.ports, nodeGroups, undefined, nowMs, runPipeline);
    // The day only, then the window and the day.
    expect(reads).toEqual([1, 2]);
    expect(reused?.ceiling).toEqual(readAgain?.ceiling);
  });

  it('gives each replayed refit the minutes the live refit read, not the window’s 5-minute means', async () => {
    // A 28-day window of a 1-minute metric comes back as 5-minute means, so every refit also reads its last 2 days at
    // the minute (FINE_SPREAD_DAYS). The first replayed refit, at now − 1440, reads back to now − 1440 − 2880 minutes:
    // the rehearsal must hold those minutes as they were (demand's 37 × (m mod 7) ripple), not as means held flat.
    const cfg = config();
    const h = harness(cfg, 10);
    const fineHistories: DemandHistory[] = [];
    const forecaster: Forecaster = { name: 'recording', forecast: (request) => (request.fineHistory && fineHistories.push(request.fineHistory), wideForecaster.forecast(request)) };
    h.cloud.goToMinute(NOW_MINUTE);
    const nowMs = T0 + NOW_MINUTE * MINUTE_MS;
    const nodeGroups = await h.cloud.capacity.describeNodeGroups('test', ['web']);
    await rehearseCostCeiling(cfg, { ...h.ports, forecaster }, nodeGroups, undefined, nowMs, runPipeline);
    expect(fineHistories.length).toBeGreaterThan(1);
    const minutesRead: number[] = [];
    for (const fine of fineHistories) {
      fine.values.forEach((value, i) => {
        const minute = Math.round((fine.startMs - T0) / MINUTE_MS) + i;
        if (Number.isNaN(value)) return;
        minutesRead.push(minute);
        expect(value).toBe(demand[minute]);
      });
    }
    // Including minutes before the rehearsed day's first hour: the day was read 2 days earlier for them.
    expect(Math.min(...minutesRead)).toBe(0);
  });

  it('the first scheduled run starts from the rehearsed ceiling, reads the lowered level, and says so', async () => {
    const h = harness(config(), 10);
    const result = await h.run(NOW_MINUTE);
    expect(result.costCeilingRehearsal).toMatchObject({ outcome: 'rehearsed', runs: 288, spanMinutes: 1440 });
    const { shift } = result.costCeilingRehearsal as { shift: number };
    expect(shift).toBeLessThan(-0.1);
    const ceiling = (await h.state.getPlannerMemory('test'))!.costCeiling!;
    // The day the rehearsal priced (12:00 yesterday to 11:55 today, its last run), accrued on to now, 12:00: the window
    // keeps the 24 clock hours ending with the one now is in, so yesterday's 12:00 hour ages out → 23 × 60 = 1380 minutes.
    expect(ceiling.hours.reduce((minutes, [, m]) => minutes + m, 0)).toBeCloseTo(1380, 6);
    // One 5-minute accrual later: it moves by at most 0.003 × |day's overspend| × 5 ≪ 0.01 (the overspend is a fraction).
    expect(Math.abs(ceiling.shift - shift)).toBeLessThan(0.01);
    expect(result.outcomes[0]?.guarded.command.reason).toMatch(/service level 0\.9 → 0\.\d+: spend above the HPA \+ Cluster Autoscaler shadow's/);
    // The next run finds a ceiling: no second rehearsal.
    expect((await h.run(NOW_MINUTE + 5)).costCeilingRehearsal).toBeUndefined();
  });

  it.each<[string, PrescaleConfig, Partial<RunOptions>]>([
    ['the ceiling is off', config({ policy: { scheduleMinutes: 5, costCeiling: 'off' } }), {}],
    ['an alarm run (scale out now, not after a day of replay)', config(), { trigger: 'alarm', actor: 'alarm' }],
    ['a dry run (nothing would keep it)', config(), { dryRun: true }],
    ['the rehearsal’s own runs', config(), { rehearse: false }],
    ['an HPA on a queue metric (the baseline cannot be priced)', config({}, [{ type: 'external', metric: 'queue_depth', targetAverageValue: 10 }]), {}],
  ])('does not rehearse when %s', async (_, cfg, options) => {
    const h = harness(cfg, 10);
    const readStartsMs: number[] = [];
    const getDemandMany = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
    h.cloud.metrics.getDemandMany = async (requests) => (readStartsMs.push(...requests.map((r) => r.startMs)), getDemandMany(requests));
    const result = await h.run(NOW_MINUTE, options);
    expect(result.costCeilingRehearsal).toBeUndefined();
    // Recent demand, and the forecast's window and its finer last days unless an alarm run: never the rehearsal's read of the day.
    expect(readStartsMs.length).toBeGreaterThan(0);
    expect(readStartsMs).not.toContain(rehearsalDayStartMs(cfg, h.cloud.clock.nowMs()));
  });

  it('does not rehearse over a ceiling already in memory', async () => {
    const h = harness(config(), 10);
    await h.run(NOW_MINUTE - 5, { rehearse: false });
    const result = await h.run(NOW_MINUTE);
    expect(result.costCeilingRehearsal).toBeUndefined();
    // The cold ceiling the first run started: 5 minutes of spends, not a day.
    expect((await h.state.getPlannerMemory('test'))!.costCeiling!.hours.reduce((minutes, [, m]) => minutes + m, 0)).toBeCloseTo(5, 6);
  });

  it('has nothing to rehearse before the metric has a datapoint, and starts cold', async () => {
    // Demand from minute 2000 on; at 2002 no run 5 minutes back has a datapoint.
    const h = harness(config(), 10, Float64Array.from(demand, (v, m) => (m < 2000 ? Number.NaN : v)));
    const result = await h.run(2002);
    expect(result.costCeilingRehearsal).toEqual({ outcome: 'nothing-to-rehearse' });
    expect((await h.state.getPlannerMemory('test'))!.costCeiling).toMatchObject({ hours: [], shift: 0 });
  });

  it('replays only the runs after the first datapoint', async () => {
    // Demand from minute 2000: runs every 5 minutes from 2000 to now − 5 = 2155 → (2155 − 2000) / 5 + 1 = 32 runs.
    const h = harness(config(), 10, Float64Array.from(demand, (v, m) => (m < 2000 ? Number.NaN : v)));
    expect((await h.run(2160)).costCeilingRehearsal).toMatchObject({ outcome: 'rehearsed', runs: 32 });
  });

  it('a history read that fails leaves the run done, the ceiling cold, and the reason in the result', async () => {
    const h = harness(config(), 10);
    const getDemandMany = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
    h.cloud.metrics.getDemandMany = async (requests) => {
      if (readsTheRehearsedDay(requests)) throw new PrescaleError('throttling', 'GetMetricData rate exceeded', { retryable: true });
      return getDemandMany(requests);
    };
    const result = await h.run(NOW_MINUTE);
    expect(result.status).toBe('done');
    expect(result.costCeilingRehearsal).toEqual({ outcome: 'failed', error: 'throttling: GetMetricData rate exceeded' });
    expect((await h.state.getPlannerMemory('test'))!.costCeiling).toMatchObject({ hours: [], shift: 0 });
  });

  it('is causal: a history that goes on after now rehearses the same ceiling', async () => {
    const cut = harness(config(), 10, demand.slice(0, NOW_MINUTE + 1));
    const whole = harness(config(), 10);
    await cut.run(NOW_MINUTE);
    await whole.run(NOW_MINUTE);
    expect((await cut.state.getPlannerMemory('test'))!.costCeiling).toEqual((await whole.state.getPlannerMemory('test'))!.costCeiling);
  });
});
