/**
 * The whole loop on the simulated cloud: what each stage does to the cluster
 * and the state store, one behaviour per test.
 */
import { describe, expect, it } from 'vitest';
import type { PrescaleConfig } from '../../lib/config/schema.ts';
import type { Command } from '../../lib/core/commands.ts';
import type { DemandHistory, Forecaster, ForecastRequest } from '../../lib/core/forecast/types.ts';
import { appliedRateChangeUsdPerHour, approvedPlanRefusal, executeApprovedPlan, readsFinerDays, runPipeline, sameChanges, scaleResult, type CommandOutcome, type PipelinePorts } from '../../lib/pipeline/run.ts';
import { createSimCloud, type SimCloud } from '../../lib/sim/cloud.ts';
import { createMemoryStateStore } from '../../lib/state/memory.ts';
import { webClusterConfig, webService } from '../support/web-cluster.ts';
import type { PlannerMemory, StateStore } from '../../lib/ports.ts';
import { PrescaleError } from '../../lib/errors.ts';
import { rehearsalDayStartMs } from '../../lib/pipeline/rehearse.ts';
import { bundledPriceTable } from '../../lib/core/budget/prices.ts';

/** Tomorrow is like the last minute, with no uncertainty: these tests are about the stages after the forecast. */
const lastValueForecaster: Forecaster = {
  name: 'last-value',
  forecast: ({ history, horizonSteps, levels }) => {
    const last = [...history.values].reverse().find((v) => !Number.isNaN(v)) ?? 0;
    const point = Array<number>(horizonSteps).fill(last);
    return { model: 'last-value', startMs: history.startMs + history.values.length * history.stepSeconds * 1000, stepSeconds: history.stepSeconds, point, quantiles: levels.map((level) => ({ level, values: point })) };
  },
};

const METRIC = { namespace: 'Test', name: 'Requests', dimensions: {}, stat: 'Average', periodSeconds: 60 };
const T0 = Date.UTC(2026, 10, 2);

function config(overrides: Record<string, unknown> = {}): PrescaleConfig {
  return webClusterConfig(40, { services: [webService('api', METRIC)], ...overrides });
}

/** A service like the default one, on its own metric. */
const service = (name: string, metric: typeof METRIC) => webService(name, metric);

interface Harness {
  cloud: SimCloud;
  state: StateStore;
  ports: PipelinePorts;
  run: (minute: number, trigger?: 'scheduled' | 'alarm') => ReturnType<typeof runPipeline>;
}

/** 2 pods per node (1 CPU each on 2-CPU nodes), 100 demand per pod → 200 demand per node. */
function harness(cfg: PrescaleConfig, demand: number[], initialNodes: number): Harness {
  const cloud = createSimCloud(cfg, T0, { web: initialNodes });
  cloud.metrics.add(METRIC, Float64Array.from(demand));
  const state = createMemoryStateStore();
  const ports: PipelinePorts = { clock: cloud.clock, metrics: cloud.metrics, capacity: cloud.capacity, manifests: undefined, state, forecaster: lastValueForecaster, notifier: cloud.notifier };
  return {
    cloud,
    state,
    ports,
    run: (minute, trigger = 'scheduled') => {
      cloud.goToMinute(minute);
      return runPipeline(cfg, ports, { trigger, actor: trigger, runId: `${trigger}-${minute}` });
    },
  };
}

const desired = (h: Harness): number => h.cloud.capacity.fleet('web').aliveNodes;

describe('pipeline on the simulated cloud', () => {
  it('scales out for current demand and audits the change with its reason', async () => {
    // demand 1500 → reactive floor ceil(1500 / (100 × 0.9)) = 17 pods → ceil(17 / 2) = 9 nodes
    const h = harness(config(), Array(30).fill(1500), 2);
    const result = await h.run(10);
    expect(desired(h)).toBe(9);
    expect(result.outcomes.map((o) => o.result)).toEqual(['applied']);
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit).toMatchObject({ actor: 'scheduled', target: 'test/nodegroup/web', before: { desiredNodes: 2 }, after: { desiredNodes: 9 }, result: 'applied' });
    expect(audit!.reason).toContain('scale out 2 → 9');
  });

  it("asks each service's forecast for the quantile at its own service level", async () => {
    const cache = { ...METRIC, name: 'Lookups' };
    const cfg = config({ services: [service('api', METRIC), { ...service('cache', cache), serviceLevel: 0.83 }] });
    const h = harness(cfg, Array(30).fill(1500), 2);
    h.cloud.metrics.add(cache, Float64Array.from(Array(30).fill(100)));
    const levelsAsked: (readonly number[])[] = [];
    const forecaster: Forecaster = { name: 'recording', forecast: (request) => (levelsAsked.push(request.levels), lastValueForecaster.forecast(request)) };
    h.cloud.goToMinute(10);
    // Not rehearsed (the rehearsal's own refits are test/integration/rehearse.test.ts's): this run's refits only.
    await runPipeline(cfg, { ...h.ports, forecaster }, { trigger: 'scheduled', actor: 'scheduled', runId: 'levels', rehearse: false });
    // Services are refitted in config order: api at the policy's 0.9, cache at its own 0.83 (not one of the standard levels).
    expect(levelsAsked).toHaveLength(2);
    expect(levelsAsked[0]).toContain(0.9);
    expect(levelsAsked[0]).not.toContain(0.83);
    expect(levelsAsked[1]).toContain(0.83);
  });

  it.each<[string, number, number, number | undefined]>([
    // CloudWatch keeps 1-minute data 15 days: a 28-day window comes back as 5-minute means, so the forecast also gets
    // the last two days at the metric's minute to widen its quantiles by (a minute varies about its 5-minute mean).
    ['a window retention serves coarser', 28, 300, 60],
    ['a window within the 1-minute retention', 14, 60, undefined],
  ])('refits on %s with the finer last days only where needed', async (_name, historyDays, windowStepSeconds, fineStepSeconds) => {
    const cfg = config({ policy: { historyDays } });
    const h = harness(cfg, Array(3 * 1440).fill(1500), 2);
    const asked: ForecastRequest[] = [];
    const forecaster: Forecaster = { name: 'recording', forecast: (request) => (asked.push(request), lastValueForecaster.forecast(request)) };
    h.cloud.goToMinute(3 * 1440 - 1);
    await runPipeline(cfg, { ...h.ports, forecaster }, { trigger: 'scheduled', actor: 'scheduled', runId: 'fine', rehearse: false });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.history.stepSeconds).toBe(windowStepSeconds);
    expect(asked[0]!.fineHistory?.stepSeconds).toBe(fineStepSeconds);
    // The finer read covers the last FINE_SPREAD_DAYS = 2 days: it starts 2 × 1440 minutes before now.
    if (fineStepSeconds !== undefined) expect(asked[0]!.fineHistory!.startMs).toBe(h.cloud.clock.nowMs() - 2 * 1440 * 60_000);
  });

  it.each<[string, number, number, boolean]>([
    // 28 days back is past the 15 days CloudWatch keeps 1-minute data: served as 5-minute means → read the minutes too
    ['Average', 60, 28, true],
    // within the 15 days: served at the minute already
    ['Average', 60, 14, false],
    // exactly 15 days by the run's clock is a little more by the adapter's, later one: served coarser
    ['Average', 60, 15, true],
    ['Sum', 60, 28, true],
    ['SampleCount', 60, 28, true],
    // a coarse maximum or percentile already stands above its minutes
    ['Maximum', 60, 28, false],
    ['p99', 60, 28, false],
    // 2-minute data served as 5-minute means: 300 / 120 is not whole, the minutes cannot be placed in their steps
    ['Average', 120, 28, false],
    // 5-minute data is kept 63 days: 28 days come back at its own period
    ['Average', 300, 28, false],
    // …90 days come back hourly, 12 periods a step
    ['Average', 300, 90, true],
  ])('a %s at %i s over %i days reads its finer days: %s', (stat, periodSeconds, days, expected) => {
    const nowMs = Date.UTC(2026, 0, 1);
    expect(readsFinerDays({ stat, periodSeconds }, nowMs - days * 1440 * 60_000, nowMs)).toBe(expected);
  });

  it('refits without the finer days when their read fails, and the run goes on', async () => {
    const cfg = config();
    const h = harness(cfg, Array(3 * 1440).fill(1500), 2);
    const asked: ForecastRequest[] = [];
    const forecaster: Forecaster = { name: 'recording', forecast: (request) => (asked.push(request), lastValueForecaster.forecast(request)) };
    h.cloud.goToMinute(3 * 1440 - 1);
    const fineStartMs = h.cloud.clock.nowMs() - 2 * 1440 * 60_000;
    const getDemandMany = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
    let rejected = 0;
    h.cloud.metrics.getDemandMany = async (requests) =>
      (await getDemandMany(requests)).map((r, i) => (requests[i]!.startMs === fineStartMs ? (rejected++, { status: 'rejected' as const, reason: new Error('throttled') }) : r));
    const result = await runPipeline(cfg, { ...h.ports, forecaster }, { trigger: 'scheduled', actor: 'scheduled', runId: 'fine-failed', rehearse: false });
    expect(rejected).toBe(1);
    expect(result.status).toBe('done');
    // …and says which refit went without, and why.
    expect(result.finerReadsFailed).toEqual([{ service: 'api', error: 'throttled' }]);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.history.stepSeconds).toBe(300);
    expect(asked[0]!.fineHistory).toBeUndefined();
  });

  it('never scales in when the demand metric stops reporting', async () => {
    // 20 minutes of data, then nothing: at minute 29 the latest point is 10 minutes old
    const h = harness(config(), [...Array(20).fill(100), ...Array(20).fill(Number.NaN)], 8);
    const result = await h.run(29);
    expect(desired(h)).toBe(8);
    // …and says so, for the worker's ServicesDemandUnknown metric.
    expect(result).toMatchObject({ demandUnknown: ['api'], demandInferredZero: [] });
  });

  it('an alarm run only scales out', async () => {
    const h = harness(config(), Array(30).fill(100), 8);
    await h.run(10, 'alarm');
    expect(desired(h)).toBe(8);
  });

  it('waits while another run holds the cluster lease, and changes nothing', async () => {
    const h = harness(config(), Array(30).fill(1500), 2);
    h.cloud.goToMinute(10);
    await h.state.acquireLease('test', 'someone-else', h.cloud.clock.nowMs(), 60_000);
    const result = await h.run(10);
    expect(result.status).toBe('lease-held');
    expect(desired(h)).toBe(2);
  });

  it('requeues a busy node group instead of failing the run', async () => {
    const h = harness(config(), Array(30).fill(1500), 2);
    h.cloud.capacity.setStatus('web', 'UPDATING');
    const result = await h.run(10);
    expect(result.outcomes.map((o) => o.result)).toEqual(['requeued']);
    expect(desired(h)).toBe(2);
  });

  it('skips a plan made stale by a change between observe and act', async () => {
    const h = harness(config(), Array(30).fill(1500), 2);
    const original = h.cloud.capacity.describeNodeGroups.bind(h.cloud.capacity);
    let calls = 0;
    // The second describe (act's re-check) sees someone else's change to 5.
    h.cloud.capacity.describeNodeGroups = async (cluster, names) => {
      calls++;
      if (calls === 2) await h.cloud.capacity.setDesiredNodes(cluster, 'web', 5);
      return original(cluster, names);
    };
    const result = await h.run(10);
    expect(result.outcomes[0]!.result).toBe('skipped');
    expect(result.outcomes[0]!.message).toContain('stale plan');
    expect(desired(h)).toBe(5);
  });

  it('records the count the live bounds let through, not the one asked, and prices and cools down on it', async () => {
    // 2 → 9 asked (see the first test); someone narrowed the group's live max to 5 (configured: 40)
    const h = harness(config(), Array(30).fill(1500), 2);
    h.cloud.capacity.setLiveBounds('web', 1, 5);
    const result = await h.run(10);
    expect(desired(h)).toBe(5);
    expect(result.outcomes[0]).toMatchObject({ result: 'applied', applied: { fromNodes: 2, toNodes: 5 }, message: "the node group's live bounds [1, 5] limited it to 5 (asked 9)" });
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit).toMatchObject({ before: { desiredNodes: 2 }, after: { desiredNodes: 5 }, result: 'applied' });
    expect((await h.state.getCooldown('test', 'web')).lastScaleOutMs).toBe(h.cloud.clock.nowMs());
    // the ceiling's rate: 5 nodes × $0.096 running, not the 9 asked
    expect((await h.state.getPlannerMemory('test'))!.costCeiling!.ourUsdPerHour).toBeCloseTo(5 * 0.096, 9);
  });

  it('skips, and says why, a scale the live bounds hold at the current count', async () => {
    const h = harness(config(), Array(30).fill(1500), 2);
    h.cloud.capacity.setLiveBounds('web', 1, 2);
    const result = await h.run(10);
    expect(desired(h)).toBe(2);
    expect(result.outcomes[0]).toMatchObject({ result: 'skipped', message: "the node group's live bounds [1, 2] keep it at 2 (asked 9)" });
    expect(result.outcomes[0]!.applied).toBeUndefined();
  });

  it.each<[string, 'putCooldown' | 'putPlannerMemory', number]>([
    // the scale 2 → 9 ran before the cooldown write found the lease lost: it is audited, and nothing after it runs
    ['while recording a scale stops the run after auditing that scale', 'putCooldown', 9],
    // the cold cost ceiling is the first write: nothing has run yet, and nothing does
    ['while saving the cold cost ceiling stops the run before it acts', 'putPlannerMemory', 2],
  ])('a lost lease found %s', async (_why, write, nodesAfter) => {
    const h = harness(config(), Array(30).fill(1500), 2);
    h.state[write] = async () => {
      throw new PrescaleError('stale', `${write} for test: fencing token 1 is older than the one that last wrote it`);
    };
    await expect(h.run(10)).rejects.toMatchObject({ code: 'stale' });
    expect(desired(h)).toBe(nodesAfter);
    const audit = await h.state.listAudit('test', 0, 10);
    expect(audit.map((a) => a.result)).toEqual(nodesAfter === 2 ? [] : ['applied']);
    // what ran is in the decision log too (an unfenced write)
    expect(await h.state.listDecisions('test', 0, 10)).toHaveLength(nodesAfter === 2 ? 0 : 1);
  });

  it('an approval that loses its lease after a scale reports what ran, and sends nothing more', async () => {
    // 2 → 9 needs approval (+350 % ≥ 50 %); while it executes, its cooldown write finds a newer lease
    const approving = config({ budget: { monthlyUsd: 100_000, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 } }, slack: { channel: '#ops', approvers: ['U012ABCDEF'] } });
    const h = harness(approving, Array(30).fill(1500), 2);
    const planned = await h.run(10);
    h.state.putCooldown = async () => {
      throw new PrescaleError('stale', 'cooldown for test/web: fencing token 2 is older than the one that last wrote it');
    };
    h.cloud.goToMinute(12);
    const executed = await executeApprovedPlan(approving, h.ports, planned.pendingPlan!, 'slack:U012ABCDEF');
    expect(executed.status).toBe('done');
    expect(executed.outcomes.map((o) => o.result)).toEqual(['applied']);
    expect(executed.floorsNotRecorded).toMatch(/^the lease was lost/);
    expect(desired(h)).toBe(9);
  });

  it('keeps an applied scale applied when its cooldown cannot be written, and reports the missing bookkeeping', async () => {
    const h = harness(config(), Array(30).fill(1500), 2);
    h.state.putCooldown = async () => {
      throw new PrescaleError('throttling', 'DynamoDB PutItem: rate exceeded', { retryable: true });
    };
    const result = await h.run(10);
    expect(desired(h)).toBe(9);
    expect(result.outcomes[0]).toMatchObject({ result: 'applied', applied: { toNodes: 9 } });
    expect(result.outcomes[0]!.bookkeepingError).toBe('cooldown not recorded (throttling: DynamoDB PutItem: rate exceeded): the next run may reverse this scale before its delay');
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit).toMatchObject({ after: { desiredNodes: 9 }, result: 'applied' });
    expect(audit!.message).toContain('cooldown not recorded');
  });

  describe('demand reads, one batch per stage', () => {
    /** The metric names of each getDemandMany call, in order. */
    function recordBatches(h: Harness): string[][] {
      const batches: string[][] = [];
      const getDemandMany = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
      h.cloud.metrics.getDemandMany = async (requests) => {
        batches.push(requests.map((r) => r.query.name));
        return getDemandMany(requests);
      };
      return batches;
    }

    it('reads recent demand, then the history of the services to refit, each in one batch in service order', async () => {
      const other = { ...METRIC, name: 'Other' };
      const h = harness(config({ services: [service('api', METRIC), service('jobs', other)] }), Array(30).fill(1500), 2);
      h.cloud.metrics.add(other, Float64Array.from(Array(30).fill(100)));
      const batches = recordBatches(h);
      await h.run(10);
      expect(batches).toEqual([
        ['Requests', 'Other'],
        // The forecast windows, then (retention serves a 28-day window of a 1-minute metric as 5-minute means) the
        // last days at the metric's period.
        ['Requests', 'Other', 'Requests', 'Other'],
        // The first run rehearses the cost ceiling: each service's last day, in one batch (the forecast windows just read
        // are not read again).
        ['Requests', 'Other'],
      ]);
      // A minute later both forecasts are cached and the ceiling is in memory: no history to read.
      await h.run(11);
      expect(batches.slice(3)).toEqual([['Requests', 'Other'], []]);
    });

    it('one unreadable series fails the run with its error and frees the lease', async () => {
      const missing = { ...METRIC, name: 'Missing' };
      const h = harness(config({ services: [service('api', METRIC), service('jobs', missing)] }), Array(30).fill(1500), 2);
      const batches = recordBatches(h);
      await expect(h.run(10, 'alarm')).rejects.toMatchObject({ code: 'not-found', message: expect.stringContaining('Test/Missing') });
      expect(batches).toEqual([['Requests', 'Missing']]);
      expect(desired(h)).toBe(2);
      h.cloud.metrics.add(missing, Float64Array.from(Array(30).fill(0)));
      expect((await h.run(11, 'alarm')).status).toBe('done');
    });
  });
});

/** Rewrites every value the simulated metrics serve as `read` says, from the period's start, its length and the clock. */
function servedAs(h: Harness, read: (value: number, startMs: number, stepMs: number, nowMs: number) => number): void {
  const getDemandMany = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
  h.cloud.metrics.getDemandMany = async (requests) => {
    const nowMs = h.cloud.clock.nowMs();
    return (await getDemandMany(requests)).map((result) => {
      if (result.status === 'rejected') return result;
      const { startMs, stepSeconds, values } = result.value;
      const stepMs = stepSeconds * 1000;
      return { status: 'fulfilled', value: { startMs, stepSeconds, values: values.map((value, i) => read(value, startMs + i * stepMs, stepMs, nowMs)) } };
    });
  };
}

describe('a CloudWatch Sum read before its period settles', () => {
  const SUM_METRIC = { ...METRIC, stat: 'Sum' };
  /**
   * Reads as CloudWatch serves a 1-minute Sum of `perMinute`: the period in
   * progress holds only the part so far, and a period that ended under a
   * minute ago is still half aggregated. (The replay itself serves nothing
   * before a Sum settles; coarser history is left as it serves it.)
   */
  function cloudWatchLikeSum(h: Harness, perMinute: readonly number[], aggregatingMs = 60_000): void {
    servedAs(h, (value, startMs, stepMs, nowMs) => {
      if (stepMs !== 60_000) return value;
      const whole = perMinute[(startMs - T0) / 60_000] ?? Number.NaN;
      if (startMs + stepMs > nowMs) return whole * Math.max(0, (nowMs - startMs) / stepMs);
      return nowMs - (startMs + stepMs) < aggregatingMs ? whole / 2 : whole;
    });
  }
  /** `rehearse`: false when a test records the forecasts, so only the run's own are seen. */
  function harnessAt(seconds: number, rehearse = true) {
    // 1000 a minute → reactive floor ceil(1000 / (100 × 0.9)) = 12 pods → 6 nodes
    const cfg = config({ services: [service('api', SUM_METRIC)] });
    const demand = Array<number>(90).fill(1000);
    const h = harness(cfg, demand, 6);
    cloudWatchLikeSum(h, demand);
    const run = async (minute: number) => {
      h.cloud.clock.set(T0 + minute * 60_000 + seconds * 1000);
      return runPipeline(cfg, h.ports, { trigger: 'scheduled', actor: 'scheduled', runId: `run-${minute}`, rehearse });
    };
    return { h, run };
  }

  it('does not read the partial minute as a drop in demand', async () => {
    // 20 s into minute 30 the minute in progress reads 1000 × 20/60 = 333 and minute 29 reads 500.
    // Read as demand, 333 would give a floor of ceil(333 / 90) = 4 pods → 2 nodes and a scale-in.
    const { h, run } = harnessAt(20);
    const result = await run(30);
    expect(result.outcomes).toEqual([]);
    expect(desired(h)).toBe(6);
    expect(await h.state.listAudit('test', 0, 10)).toEqual([]);
  });

  it('asks the forecast to reach the horizon from where the settled history ends', async () => {
    const { h, run } = harnessAt(20, false);
    const asked: { endMs: number; horizonSteps: number }[] = [];
    h.ports = {
      ...h.ports,
      forecaster: {
        name: 'recording',
        forecast: (request) => {
          const { history } = request;
          asked.push({ endMs: history.startMs + history.values.length * history.stepSeconds * 1000, horizonSteps: request.horizonSteps });
          return lastValueForecaster.forecast(request);
        },
      },
    };
    await run(30);
    // History back 28 days comes at 300 s (retention); at 30:20 the periods settled by 29:20 end at minute 25.
    expect(asked.map((a) => (a.endMs - T0) / 60_000)).toEqual([25]);
    // Reach: refit 60 + horizon (boot 3 + pod 0 + schedule 1) + 1 = 65 min past now, plus the 5 min 20 s from the
    // history's end to now → ceil((65 × 60 + 320) / 60) + 1 = ceil(70.33) + 1 = 72 one-minute steps.
    expect(asked.map((a) => a.horizonSteps)).toEqual([72]);
  });

  it.each<['scheduled' | 'alarm']>([['alarm'], ['scheduled']])('%s: scales out on the period still settling, as a lower bound', async (trigger) => {
    // 1000 a minute until 28, 4000 from 29. At 30:20 the settled history ends with 28 (1000 → 12 pods, the 6 nodes
    // there are). 29 ended 20 s ago and reads half, 2000: it can only grow, so demand is at least 2000 →
    // ceil(2000 / 90) = 23 pods → 12 nodes (the alarm that fired on 29 is answered now, not a minute later).
    const cfg = config({ services: [service('api', SUM_METRIC)] });
    const demand = [...Array<number>(29).fill(1000), ...Array<number>(61).fill(4000)];
    const h = harness(cfg, demand, 6);
    cloudWatchLikeSum(h, demand);
    h.cloud.clock.set(T0 + 30 * 60_000 + 20_000);
    const result = await runPipeline(cfg, h.ports, { trigger, actor: trigger, runId: `${trigger}-30` });
    expect(desired(h)).toBe(12);
    expect(result.outcomes[0]?.guarded.command.reason).toMatch(/demand ≥ 2000 in a period still settling → reactive floor 23 pods/);
  });

  it.each<[string, number | undefined, number]>([
    // A metric still aggregating 2 minutes after its period ends. At 30:20 minute 28 ended 80 s ago and reads half (500).
    // Default settle (60 s): 28 counts as settled → floor ceil(500 / 90) = 6 pods; the forecast (1000 from 25:00) moved
    // by its level error (minutes 23..28 against it, 28 short by 500: −500 / 6 = −83) keeps ceil(917 / 100) = 10 pods
    // → 5 nodes: a false scale-in of one node.
    ['the default settle minute reads a late metric as a drop', undefined, 5],
    // settleSeconds 120: 28 is still settling (a lower bound, 500 < 1000); 27 reads 1000 → 12 pods → the 6 nodes stay.
    ['settleSeconds: 120 waits for it', 120, 6],
  ])('%s', async (_case, settleSeconds, nodes) => {
    const metric = { ...SUM_METRIC, ...(settleSeconds === undefined ? {} : { settleSeconds }) };
    const cfg = config({ services: [service('api', metric)] });
    const demand = Array<number>(90).fill(1000);
    const h = harness(cfg, demand, 6);
    cloudWatchLikeSum(h, demand, 120_000);
    h.cloud.clock.set(T0 + 30 * 60_000 + 20_000);
    await runPipeline(cfg, h.ports, { trigger: 'scheduled', actor: 'scheduled', runId: 'run-30' });
    expect(desired(h)).toBe(nodes);
  });

  it('scores a prediction once its period has settled, however many runs that takes', async () => {
    const { h, run } = harnessAt(20);
    const MIN_MS = 60_000;
    const pendingStarts = async () => ((await h.state.getPlannerMemory('test'))?.calibration?.['api']?.pending ?? []).map((p) => (p.startMs - T0) / MIN_MS);
    // At 30:20 minute 30 is in progress: its prediction waits.
    await run(30);
    expect(await pendingStarts()).toEqual([30]);
    // At 31:20 minute 30 ended 20 s ago and is still settling: both wait.
    await run(31);
    expect(await pendingStarts()).toEqual([30, 31]);
    // At 32:20 minute 30 settled (ended 31:00, 80 s ago): scored; 31 waits beside 32.
    await run(32);
    expect(await pendingStarts()).toEqual([31, 32]);
  });
});

describe('a counting metric that publishes nothing when idle (ALB RequestCount)', () => {
  /** Serves a Sum as an ALB does: no datapoint for a minute without requests, and none until `lateMs` after its minute ends. */
  function albLike(h: Harness, lateMs: number): void {
    servedAs(h, (value, startMs, stepMs, nowMs) => (value === 0 || nowMs - (startMs + stepMs) < lateMs ? Number.NaN : value));
  }
  /** `hpaReplicas`: the pods the service's HPA runs, readable through the manifests port; undefined: no HPA to read. */
  function albHarness(missingData: 'missing' | 'zero', demand: number[], options: { lateMs?: number; hpaReplicas?: number } = {}) {
    const metric = { ...METRIC, stat: 'Sum', missingData };
    const cfg = config({ services: [service('api', metric as typeof METRIC)] });
    // 1000 a minute → reactive floor ceil(1000 / (100 × 0.9)) = 12 pods → 6 nodes
    const h = harness(cfg, demand, 6);
    albLike(h, options.lateMs ?? 60_000);
    if (options.hpaReplicas !== undefined) {
      const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api', namespace: 'prod' }, spec: { minReplicas: 1, maxReplicas: 80 }, status: { currentReplicas: options.hpaReplicas } };
      void h.cloud.manifests.apply([hpa]);
      h.ports = { ...h.ports, manifests: h.cloud.manifests };
    }
    const histories: DemandHistory[] = [];
    h.ports = { ...h.ports, forecaster: { name: 'recording', forecast: (request) => (histories.push(request.history), lastValueForecaster.forecast(request)) } };
    const run = async (minute: number) => {
      h.cloud.clock.set(T0 + minute * 60_000 + 20_000);
      return runPipeline(cfg, h.ports, { trigger: 'scheduled', actor: 'scheduled', runId: `run-${minute}` });
    };
    return { h, run, histories };
  }
  // Requests until minute 40, then none: the ALB publishes nothing from minute 40 on.
  const GOES_QUIET = [...Array<number>(40).fill(1000), ...Array<number>(50).fill(0)];

  it.each<[string, 'missing' | 'zero', number | undefined, number]>([
    // One run at 60:20, twenty quiet minutes in, the HPA down to 2 pods; the forecast is fitted now. missing: the last
    // datapoint (39) is far past two periods → unknown → the 6 nodes stay (the forecast, from the last datapoint, says 1000).
    ['missing: an idle service keeps its nodes', 'missing', 2, 6],
    // zero: the 1-minute reads 40..57 are due (start + 2 min ≤ 59:20) and read 0; the forecast from the zero-read history
    // says 0 → pods max(minReplicas 1, the 2 its HPA runs) = 2 → 1 node; one run may release up to 5: 6 → 1.
    ['zero: an idle service follows its HPA down', 'zero', 2, 1],
    // zero with no HPA to read: nothing guards the inference, so the gap stays unknown and the 6 nodes stay.
    ['zero: without an HPA to read, the gap stays unknown', 'zero', undefined, 6],
  ])('%s', async (_case, missingData, hpaReplicas, nodes) => {
    const { h, run } = albHarness(missingData, GOES_QUIET, { hpaReplicas });
    const result = await run(60);
    expect(desired(h)).toBe(nodes);
    const inferred = missingData === 'zero' && hpaReplicas !== undefined;
    expect(result).toMatchObject(inferred ? { demandUnknown: [], demandInferredZero: ['api'] } : { demandUnknown: ['api'], demandInferredZero: [] });
  });

  it.each<[string, number | undefined, number[]]>([
    // 28 days back comes at 300 s (retention). At 60:20: 35 (1000 a minute), 40 and 45 idle and due (start + 10 min ≤
    // 59:20) → 0; 50 ended 55:00, settled but not due → still missing; 55 still settling → not in the history.
    ['reads the idle periods as zero', 2, [1000, 0, 0, Number.NaN]],
    // Without an HPA to read the planner keeps a gap unknown, and so does the forecast's history.
    ['keeps them gaps without an HPA to read', undefined, [1000, Number.NaN, Number.NaN, Number.NaN]],
  ])("zero: the forecast's history %s", async (_case, hpaReplicas, expected) => {
    const { run, histories } = albHarness('zero', GOES_QUIET, { hpaReplicas });
    await run(60);
    const [history] = histories;
    const at = (minute: number) => history!.values[(T0 + minute * 60_000 - history!.startMs) / 300_000];
    expect([35, 40, 45, 50].map(at)).toEqual(expected);
    expect(history!.startMs + history!.values.length * 300_000).toBe(T0 + 55 * 60_000);
  });

  it.each<[string, number, number, Partial<Record<'demandUnknown' | 'demandInferredZero', string[]>>]>([
    // Every datapoint 100 s after its minute ends (CloudWatch usually takes under 60 s); the HPA (on CPU) is down to 2
    // pods, so a zero read wrongly would scale in to 1 node. At 45:20 minute 43 (ended 44:00, 80 s ago) is missing but
    // not due (start + 2 min = 45:00 > 44:20): the run reads 42's 1000 → 12 pods → the 6 nodes stay.
    ['100 s late: still read as late, not idle', 100_000, 2, { demandInferredZero: [] }],
    // 150 s late: at 45:20 minutes 42 and 43 are missing; 42 is due (44:00 ≤ 44:20) and reads 0 — but an inference
    // keeps the 12 pods the HPA runs: the 6 nodes stay.
    ['150 s late, the HPA at 12: read as 0, no node taken', 150_000, 12, { demandInferredZero: ['api'] }],
  ])('zero: %s', async (_case, lateMs, hpaReplicas, expected) => {
    const { h, run } = albHarness('zero', Array(90).fill(1000), { lateMs, hpaReplicas });
    const result = await run(45);
    expect(desired(h)).toBe(6);
    expect(result).toMatchObject(expected);
  });
});

describe('budget guard in the pipeline', () => {
  const budget = (monthlyUsd: number, extra: Record<string, unknown> = {}) => ({ budget: { monthlyUsd, approval: { capacityChangePercent: 1000, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 }, ...extra } });

  it('asks a human for a large change: a pending plan in the store, a Slack message, no change yet', async () => {
    // m5.large in us-east-1 from the bundled table; 2 → 9 nodes is +350 %, over the 50 % threshold
    const cfg = config({ budget: { monthlyUsd: 100_000, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 } }, slack: { channel: '#ops', approvers: ['U012ABCDEF'] } });
    const h = harness(cfg, Array(30).fill(1500), 2);
    const result = await h.run(10);
    expect(desired(h)).toBe(2);
    expect(result.outcomes[0]!.guarded.verdict).toBe('needs-approval');
    expect(result.pendingPlan).toBeDefined();
    const stored = await h.state.getPendingPlan(result.pendingPlan!.id, h.cloud.clock.nowMs());
    expect(stored).toMatchObject({ status: 'pending', cluster: 'test' });
    expect(stored!.expiresAtMs - stored!.createdAtMs).toBe(30 * 60_000);
    expect(h.cloud.notifier.posted).toHaveLength(1);
    expect(h.cloud.notifier.posted[0]!.channel).toBe('#ops');
    // First run: Nov 1 00:00 → Nov 2 00:10 is estimated at the 2 nodes found: 2 × $0.096 × 24.1667 h = $4.64.
    // 2 → 9 nodes × $0.096 = $0.864/h over the 695.83 h to Dec 1: 0.864 × 695.8333 = $601.20.
    // $4.64 + $601.20 = $605.84, 0.6 % of $100,000; the guard's reason shows the same figure.
    const blocks = JSON.stringify(h.cloud.notifier.posted[0]!.blocks);
    expect(blocks).toContain('*Projected month-end if approved:* $605.84 of the $100,000.00 cap (0.6 %)');
    expect(blocks).toContain('projected month-end $605.84 = MTD $4.64');
  });

  describe('one plan open at a time', () => {
    // 2 → 9 nodes (+350 % > 50 %) waits for approval while demand stays at 1500.
    const cfg = config({ budget: { monthlyUsd: 100_000, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 } }, slack: { channel: '#ops', approvers: ['U012ABCDEF'] } });
    /** The first planner-memory write that `when` picks fails (DynamoDB throttling); the others go through. */
    const failMemoryWriteOnce = (h: Harness, when: (memory: PlannerMemory) => boolean): void => {
      const put = h.state.putPlannerMemory.bind(h.state);
      let failed = false;
      h.state.putPlannerMemory = async (lease, memory) => {
        if (!failed && when(memory)) {
          failed = true;
          throw new PrescaleError('throttling', 'DynamoDB: rate exceeded', { retryable: true });
        }
        return put(lease, memory);
      };
    };

    it('keeps asking the same question while nothing changes: one plan, one post', async () => {
      const h = harness(cfg, Array(30).fill(1500), 2);
      const ids = [];
      for (const minute of [10, 11, 12, 13, 14]) ids.push((await h.run(minute)).pendingPlan?.id);
      expect(new Set(ids).size).toBe(1);
      expect(h.cloud.notifier.posted).toHaveLength(1);
    });

    it('supersedes the open plan when demand no longer asks for it, so a late click executes nothing', async () => {
      // Demand falls to 300 after minute 10: 2 nodes hold it (ceil(300 / 90) = 4 pods), so the run at minute 20 (its
      // forecast refitted every minute on the last value) wants no change, and the plan of minute 10 goes.
      const refitting = { ...cfg, policy: { ...cfg.policy, refitMinutes: 1 } };
      const h = harness(refitting, [...Array(15).fill(1500), ...Array(15).fill(300)], 2);
      const planId = (await h.run(10)).pendingPlan!.id;
      const later = await h.run(20);
      expect(later.outcomes).toEqual([]);
      expect(later.pendingPlan).toBeUndefined();
      expect(await h.state.getPendingPlan(planId, h.cloud.clock.nowMs())).toMatchObject({ status: 'superseded', decidedBy: 'prescale:scheduled' });
      await expect(h.state.decidePendingPlan(planId, 'pending', 'approved', 'U012ABCDEF', h.cloud.clock.nowMs())).rejects.toMatchObject({ code: 'conflict' });
      expect(desired(h)).toBe(2);
    });

    it.each([1, 60])('an alarm run with nothing to ask leaves the open plan alone (runs every %i min): it plans from current demand only', async (scheduleMinutes) => {
      // As above, the plan of minute 10 is open; at minute 20 demand is 300 and an alarm run wants no change.
      const h = harness({ ...cfg, policy: { ...cfg.policy, scheduleMinutes } }, [...Array(15).fill(1500), ...Array(15).fill(300)], 2);
      const planId = (await h.run(10)).pendingPlan!.id;
      await h.run(20, 'alarm');
      expect((await h.state.getPendingPlan(planId, h.cloud.clock.nowMs()))!.status).toBe('pending');
      expect((await h.state.getPlannerMemory('test'))!.openPlanId).toBe(planId);
    });

    it('an alarm run that needs approval itself posts nothing beside an open plan: no plan goes untracked', async () => {
      // 1500 → 2500 at minute 15: the alarm at minute 20 wants 2 → 14 (needs approval), the open plan asks 2 → 9
      const h = harness(cfg, [...Array(15).fill(1500), ...Array(15).fill(2500)], 2);
      const planId = (await h.run(10)).pendingPlan!.id;
      const alarm = await h.run(20, 'alarm');
      expect(alarm.outcomes.map((o) => o.guarded.verdict)).toEqual(['needs-approval']);
      expect(alarm.pendingPlan).toBeUndefined();
      expect(h.cloud.notifier.posted).toHaveLength(1);
      expect((await h.state.getPlannerMemory('test'))!.openPlanId).toBe(planId);
    });

    it('on an hourly schedule an alarm that needs approval replaces the open plan: the next run is an hour away', async () => {
      const hourly = { ...cfg, policy: { ...cfg.policy, scheduleMinutes: 60 } };
      const h = harness(hourly, [...Array(15).fill(1500), ...Array(15).fill(2500)], 2);
      const planId = (await h.run(10)).pendingPlan!.id;
      const alarm = await h.run(20, 'alarm');
      expect(alarm.pendingPlan!.commands).toMatchObject([{ fromNodes: 2, toNodes: 14 }]);
      expect((await h.state.getPendingPlan(planId, h.cloud.clock.nowMs()))!.status).toBe('superseded');
      expect((await h.state.getPlannerMemory('test'))!.openPlanId).toBe(alarm.pendingPlan!.id);
    });


    it('a plan whose run failed after storing it is still known to the next run, which supersedes it', async () => {
      // the run at minute 10 stores and posts X, then its final memory write fails; the retry comes later (AWS runs
      // on the wall clock) when demand has fallen to 300 and wants no change: X must not stay approvable
      const refitting = { ...cfg, policy: { ...cfg.policy, refitMinutes: 1 } };
      const h = harness(refitting, [...Array(15).fill(1500), ...Array(15).fill(300)], 2);
      failMemoryWriteOnce(h, (memory) => memory.openPlanId !== undefined && memory.openPlanUnposted === undefined);
      await expect(h.run(10)).rejects.toMatchObject({ code: 'throttling' });
      const planId = (await h.state.getPlannerMemory('test'))!.openPlanId!;
      expect((await h.state.getPendingPlan(planId, h.cloud.clock.nowMs()))!.status).toBe('pending');
      const later = await h.run(20);
      expect(later.pendingPlan).toBeUndefined();
      expect((await h.state.getPendingPlan(planId, h.cloud.clock.nowMs()))!.status).toBe('superseded');
    });

    it('a retried run on a later clock asks the same question without a second plan', async () => {
      // as above, but demand stays: the retry keeps X as the question and posts it again (the first post's fate unknown)
      const h = harness(cfg, Array(30).fill(1500), 2);
      failMemoryWriteOnce(h, (memory) => memory.openPlanId !== undefined && memory.openPlanUnposted === undefined);
      await expect(h.run(10)).rejects.toMatchObject({ code: 'throttling' });
      const retried = await h.run(11);
      expect(retried.pendingPlan!.id).toBe((await h.state.getPlannerMemory('test'))!.openPlanId);
      expect(retried.pendingPlan!.createdAtMs).toBe(T0 + 10 * 60_000);
      expect(h.cloud.notifier.posted).toHaveLength(2);
    });

    it('a plan Slack refused is stored, the run completes, and the next run posts it', async () => {
      const h = harness(cfg, Array(30).fill(1500), 2);
      const post = h.cloud.notifier.post.bind(h.cloud.notifier);
      let refuse = true;
      h.cloud.notifier.post = async (message) => {
        if (refuse) throw new PrescaleError('unavailable', 'Slack answered 503', { retryable: true });
        return post(message);
      };
      const first = await h.run(10);
      expect(first).toMatchObject({ status: 'done', approvalNotPosted: 'unavailable: Slack answered 503' });
      expect((await h.state.getPlannerMemory('test'))!.openPlanUnposted).toBe(true);
      refuse = false;
      const next = await h.run(11);
      expect(next.pendingPlan!.id).toBe(first.pendingPlan!.id);
      expect(h.cloud.notifier.posted).toHaveLength(1);
      expect((await h.state.getPlannerMemory('test'))!.openPlanUnposted).toBeUndefined();
      await h.run(12);
      expect(h.cloud.notifier.posted).toHaveLength(1);
    });

    it('a scheduled run that asks what an alarm asked makes the plan its own: a later alarm with nothing to ask keeps it', async () => {
      const hourly = { ...cfg, policy: { ...cfg.policy, scheduleMinutes: 60 } };
      const h = harness(hourly, [...Array(25).fill(1500), ...Array(15).fill(300)], 2);
      const planId = (await h.run(10, 'alarm')).pendingPlan!.id;
      expect((await h.state.getPlannerMemory('test'))!.openPlanByAlarm).toBe(true);
      expect((await h.run(12)).pendingPlan!.id).toBe(planId);
      expect((await h.state.getPlannerMemory('test'))!.openPlanByAlarm).toBeUndefined();
      await h.run(30, 'alarm');
      expect((await h.state.getPendingPlan(planId, h.cloud.clock.nowMs()))!.status).toBe('pending');
    });

    it('a run whose rehearsal failed and whose last write failed leaves the cold ceiling: the next run does not rehearse again', async () => {
      const h = harness(cfg, Array(30).fill(1500), 2);
      const reads = h.cloud.metrics.getDemandMany.bind(h.cloud.metrics);
      // the run's own reads go through; the rehearsal's read of the day it replays is throttled
      const rehearsedDay = rehearsalDayStartMs(cfg, T0 + 10 * 60_000);
      h.cloud.metrics.getDemandMany = async (requests) => {
        if (requests.some((r) => r.startMs === rehearsedDay)) throw new PrescaleError('throttling', 'GetMetricData rate exceeded', { retryable: true });
        return reads(requests);
      };
      failMemoryWriteOnce(h, (memory) => memory.openPlanId !== undefined && memory.openPlanUnposted === undefined);
      await expect(h.run(10)).rejects.toMatchObject({ code: 'throttling' });
      expect((await h.state.getPlannerMemory('test'))!.costCeiling).toMatchObject({ hours: [], shift: 0 });
      expect((await h.run(11)).costCeilingRehearsal).toBeUndefined();
    });

    it('a plan that cannot be named in the memory first is not asked: the run completes, and the next run asks', async () => {
      // the plan of minute 10 was rejected; the run at minute 20 would open its own, but naming it fails once
      const h = harness(cfg, [...Array(15).fill(1500), ...Array(15).fill(2500)], 2);
      const rejected = (await h.run(10)).pendingPlan!.id;
      await h.state.decidePendingPlan(rejected, 'pending', 'rejected', 'U012ABCDEF', h.cloud.clock.nowMs());
      failMemoryWriteOnce(h, (memory) => memory.openPlanId !== undefined && memory.openPlanId !== rejected);
      const first = await h.run(20);
      expect(first).toMatchObject({ status: 'done', pendingPlan: undefined });
      expect(first.approvalNotPosted).toMatch(/^not asked: the plan could not be named in the memory first \(throttling: /);
      expect(await h.state.listDecisions('test', 0, 10)).toHaveLength(2);
      const next = await h.run(21);
      expect((await h.state.getPlannerMemory('test'))!.openPlanId).toBe(next.pendingPlan!.id);
    });

    it('an alarm whose plan cannot be named fails, so EventBridge retries it, instead of leaving its question to the next run', async () => {
      const h = harness(cfg, [...Array(15).fill(1500), ...Array(15).fill(2500)], 2);
      failMemoryWriteOnce(h, (memory) => memory.openPlanId !== undefined);
      await expect(h.run(20, 'alarm')).rejects.toMatchObject({ code: 'throttling' });
      const retried = await h.run(21, 'alarm');
      expect((await h.state.getPlannerMemory('test'))!.openPlanId).toBe(retried.pendingPlan!.id);
    });

    it('supersedes the open plan when the run asks for other changes, and posts those', async () => {
      // 1500 → 2500 at minute 15: the floor asks for ceil(2500 / 90) = 28 pods = 14 nodes instead of 9.
      const h = harness(cfg, [...Array(15).fill(1500), ...Array(15).fill(2500)], 2);
      const first = (await h.run(10)).pendingPlan!;
      const second = (await h.run(20)).pendingPlan!;
      expect(second.id).not.toBe(first.id);
      expect(second.commands).toMatchObject([{ fromNodes: 2, toNodes: 14 }]);
      expect((await h.state.getPendingPlan(first.id, h.cloud.clock.nowMs()))!.status).toBe('superseded');
      expect(h.cloud.notifier.posted).toHaveLength(2);
    });
  });

  describe('an approved plan is guarded again with the limits of now', () => {
    // As above: 2 → 9 nodes (+350 % > 50 %) waits for approval under a $100,000 cap.
    const approval = { capacityChangePercent: 50, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 };
    const overrides = (monthlyUsd: number) => ({ services: [webService('api', METRIC)], budget: { monthlyUsd, approval }, slack: { channel: '#ops', approvers: ['U012ABCDEF'] } });
    it.each<[string, PrescaleConfig, 'done' | 'drifted', number]>([
      ['unchanged limits: executed', webClusterConfig(40, overrides(100_000)), 'done', 9],
      // maxNodes 40 → 5 while the plan waited: the bounds guard would clamp 9 to 5, so nothing runs
      ['a group maximum narrowed below the plan', webClusterConfig(5, overrides(100_000)), 'drifted', 2],
      // cap $100,000 → $5: 9 nodes × $0.096 × ~696 h ≈ $601 no longer fits, so nothing runs
      ['a budget cut below the plan', webClusterConfig(40, overrides(5)), 'drifted', 2],
    ])('%s', async (_why, now, status, nodes) => {
      const h = harness(webClusterConfig(40, overrides(100_000)), Array(30).fill(1500), 2);
      const planned = await h.run(10);
      h.cloud.goToMinute(12);
      const executed = await executeApprovedPlan(now, h.ports, planned.pendingPlan!, 'slack:U012ABCDEF');
      expect(executed.status).toBe(status);
      expect(desired(h)).toBe(nodes);
    });

    it('sends no command once the invocation is running out of time: requeued, not cut off mid-call', async () => {
      const h = harness(webClusterConfig(40, overrides(100_000)), Array(30).fill(1500), 2);
      const planned = await h.run(10);
      h.cloud.goToMinute(12);
      const executed = await executeApprovedPlan(webClusterConfig(40, overrides(100_000)), h.ports, planned.pendingPlan!, 'slack:U012ABCDEF', { outOfTime: () => true });
      expect(executed.outcomes.map((o) => [o.result, o.message])).toEqual([['requeued', 'not sent: the invocation is running out of time; the next run plans it again']]);
      expect(desired(h)).toBe(2);
    });

    it('names the command and the verdict that refuse it', () => {
      const command = { kind: 'scale-node-group' as const, cluster: 'test', nodeGroup: 'web', fromNodes: 2, toNodes: 9, reason: 'scale out 2 → 9' };
      const nodeGroups = [{ name: 'web', status: 'ACTIVE' as const, desiredNodes: 2, minNodes: 1, maxNodes: 40, readyNodes: 2, bootingNodes: 0 }];
      const input = (cfg: PrescaleConfig) => ({ config: cfg, nowMs: T0, nodeGroups, memory: { recommendations: {}, raisedFloors: {} }, priceTable: bundledPriceTable(), usdPerHourByGroup: { web: 0.096 } });
      expect(approvedPlanRefusal([command], input(webClusterConfig(40, overrides(100_000))))).toBeUndefined();
      expect(approvedPlanRefusal([command], input(webClusterConfig(5, overrides(100_000))))).toMatch(/^test\/nodegroup\/web: needs-approval: bounds: 9 is outside \[1, 5\]: clamped to 5;/);
    });
  });

  it('clamps a scale-out to what the monthly cap affords, and never blocks scale-in', async () => {
    // A cap far below what 9 nodes would cost for the rest of the month: the scale-out is clamped or denied.
    const h = harness(config(budget(5)), [...Array(20).fill(1500), ...Array(20).fill(50)], 2);
    await h.run(10);
    expect(desired(h)).toBeLessThan(9);
    const scaleIn = harness(config(budget(5)), Array(40).fill(50), 6);
    await scaleIn.run(10);
    // demand 50 → 1 pod → 1 node; the step limit allows 6 − 5 = 1
    expect(desired(scaleIn)).toBe(1);
  });

  it('an emergency override with a reason lifts the cap and is recorded', async () => {
    const cfg = config(budget(5));
    const h = harness(cfg, Array(30).fill(1500), 2);
    h.cloud.goToMinute(10);
    const result = await runPipeline(cfg, h.ports, { trigger: 'emergency', actor: 'emergency:alice', runId: 'e-1', override: { reason: 'launch day', by: 'alice' } });
    expect(desired(h)).toBe(9);
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit!.reason).toMatch(/override/i);
    expect(result.outcomes[0]!.result).toBe('applied');
  });

  it('alerts once each at 50, 80 and 100 % of the cap', async () => {
    // 9 m5.large nodes cost 9 × 0.096 = 0.864 USD/h = 0.0144 USD/min: the run at minute 15 accrues
    // 5 min × 0.0144 = 0.072 USD = 144 % of 0.05 → 50, 80 and 100 % are due at once: one message (the highest).
    const cfg = config({ ...budget(0.05), slack: { channel: '#ops', approvers: [] } });
    const h = harness(cfg, Array(200).fill(1500), 9);
    for (let minute = 10; minute < 200; minute += 5) await h.run(minute);
    const alerts = h.cloud.notifier.posted.map((m) => m.text).filter((t) => /budget/i.test(t));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain('100');
    const again = h.cloud.notifier.posted.length;
    await h.run(200 - 1);
    expect(h.cloud.notifier.posted.length).toBe(again);
  });

  it('posts an alert again on the next run when Slack refused it, and the run that hit the error still completes', async () => {
    // As above, the first run is already past 100 % of the cap (the month so far is estimated at 9 nodes);
    // Slack answers 503 to that first alert only.
    const cfg = config({ ...budget(0.05), slack: { channel: '#ops', approvers: [] } });
    const h = harness(cfg, Array(200).fill(1500), 9);
    const post = h.cloud.notifier.post.bind(h.cloud.notifier);
    let refused = 0;
    h.cloud.notifier.post = async (message) => {
      if (/budget/i.test(message.text) && refused === 0) {
        refused++;
        throw new PrescaleError('unavailable', 'Slack answered 503', { retryable: true });
      }
      return post(message);
    };
    const first = await h.run(10);
    expect(first.status).toBe('done');
    expect(first.budgetAlertNotPosted).toBe('unavailable: Slack answered 503');
    await h.run(15);
    const alerts = h.cloud.notifier.posted.map((m) => m.text).filter((t) => /budget/i.test(t));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain('100');
    await h.run(20);
    expect(h.cloud.notifier.posted.map((m) => m.text).filter((t) => /budget/i.test(t))).toHaveLength(1);
  });

  it('prices the cost ceiling at the nodes the run left, not those it planned', async () => {
    // As above: 2 → 9 nodes waits for approval. The plan priced 9 × $0.096 = $0.864/h; the group stays at 2 → $0.192/h.
    // The shadow HPA runs ceil(1500 / (100 × 0.7)) = ceil(21.43) = 22 pods, 2 a node → 11 nodes × $0.096 = $1.056/h.
    const cfg = config({ budget: { monthlyUsd: 100_000, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 } }, slack: { channel: '#ops', approvers: ['U012ABCDEF'] } });
    const h = harness(cfg, Array(30).fill(1500), 2);
    await h.run(10);
    const ceiling = (await h.state.getPlannerMemory('test'))!.costCeiling!;
    expect(ceiling.ourUsdPerHour).toBeCloseTo(0.192, 9);
    expect(ceiling.reactiveUsdPerHour).toBeCloseTo(1.056, 9);
  });
});

describe('appliedRateChangeUsdPerHour', () => {
  const scale = (nodeGroup: string, fromNodes: number, toNodes: number) => ({ kind: 'scale-node-group' as const, cluster: 'test', nodeGroup, fromNodes, toNodes, reason: '' });
  const outcome = (command: ReturnType<typeof scale>, result: CommandOutcome['result'], applied: ReturnType<typeof scale> | undefined = result === 'applied' ? command : undefined): CommandOutcome => ({
    guarded: { command, verdict: 'allow', effective: command, reason: '' },
    result,
    message: undefined,
    ...(applied === undefined ? {} : { applied }),
  });
  it.each<[string, CommandOutcome[], number]>([
    // 2 → 9 web nodes applied: +7 × $0.096 = +$0.672/h
    ['an applied scale-out', [outcome(scale('web', 2, 9), 'applied')], 0.672],
    // 9 → 4 applied: −5 × 0.096 = −0.48; a failed, a requeued and a skipped command changed nothing
    ['a scale-in beside commands that did not run', [outcome(scale('web', 9, 4), 'applied'), outcome(scale('web', 4, 20), 'failed'), outcome(scale('web', 4, 20), 'requeued'), outcome(scale('web', 4, 20), 'skipped')], -0.48],
    // a group without a price adds nothing
    ['an unpriced group', [outcome(scale('gpu', 0, 3), 'applied')], 0],
    // 2 → 9 asked, the live max held it to 5: +3 × 0.096 = +0.288, not the +0.672 asked
    ['a scale-out the cloud clamped', [outcome(scale('web', 2, 9), 'applied', scale('web', 2, 5))], 0.288],
  ])('%s', (_why, outcomes, expected) => {
    expect(appliedRateChangeUsdPerHour(outcomes, { web: 0.096 })).toBeCloseTo(expected, 12);
  });
});

describe('scaleResult', () => {
  const command = { kind: 'scale-node-group' as const, cluster: 'test', nodeGroup: 'web', fromNodes: 4, toNodes: 10, reason: '' };
  it.each<[string, { desiredNodes: number; minNodes: number; maxNodes: number }, string, number | undefined, string | undefined]>([
    // the cloud set the 10 asked
    ['as asked', { desiredNodes: 10, minNodes: 1, maxNodes: 40 }, 'applied', 10, undefined],
    // live max 6 < 10: 4 → 6 happened, 4 of the 6 nodes asked did not
    ['clamped by the live max', { desiredNodes: 6, minNodes: 1, maxNodes: 6 }, 'applied', 6, "the node group's live bounds [1, 6] limited it to 6 (asked 10)"],
    // live max 4 = the current count: nothing changed
    ['held at the current count', { desiredNodes: 4, minNodes: 1, maxNodes: 4 }, 'skipped', undefined, "the node group's live bounds [1, 4] keep it at 4 (asked 10)"],
  ])('%s', (_why, set, result, appliedTo, message) => {
    const outcome = scaleResult(command, set);
    expect(outcome.result).toBe(result);
    expect(outcome.applied?.kind === 'scale-node-group' ? outcome.applied.toNodes : undefined).toBe(appliedTo);
    expect(outcome.message).toBe(message);
  });
});

describe('sameChanges', () => {
  const scale = (toNodes: number, reason: string) => ({ kind: 'scale-node-group' as const, cluster: 'test', nodeGroup: 'web', fromNodes: 2, toNodes, reason });
  const floor = { kind: 'set-hpa-floor' as const, cluster: 'test', namespace: 'prod', service: 'api', fromMinReplicas: 2, toMinReplicas: 8, reason: 'ramp' };
  it.each<[string, Command[], Command[], boolean]>([
    // reasons quote forecast figures that move every run: they do not make a change different
    ['the same change, another reason', [scale(9, 'p90 forecast 1510')], [scale(9, 'p90 forecast 1490')], true],
    ['the same changes in another order', [floor, scale(9, 'a')], [scale(9, 'b'), floor], true],
    // 2 → 9 against 2 → 10 nodes
    ['another count', [scale(9, 'a')], [scale(10, 'a')], false],
    ['one change fewer', [floor, scale(9, 'a')], [scale(9, 'a')], false],
    ['nothing against something', [], [scale(9, 'a')], false],
  ])('%s', (_why, a, b, same) => {
    expect(sameChanges(a, b)).toBe(same);
  });
});
