import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadConfigFile, parseConfig } from '../../../lib/config/load.ts';
import type { PrescaleConfig } from '../../../lib/config/schema.ts';
import type { Forecast } from '../../../lib/core/forecast/types.ts';
import { plan, planHpaFloor, isSpotShort, type PlanInput } from '../../../lib/core/plan/plan.ts';
import { demandNeed, firstStepNoiseSd, observedDemandAt, periodsStartingBefore, shrunkLevelOffset } from '../../../lib/core/plan/demand.ts';
import { calibrateLevel, resolvePending, initialCalibration } from '../../../lib/core/plan/calibration.ts';
import { mulberry32 } from '../../../lib/core/random.ts';
import type { NodeGroupState } from '../../../lib/ports.ts';

const MIN = 60_000;
const NOW = Date.UTC(2026, 10, 2, 12, 0);

/** One service, one group, 1 pod per node, 100 demand per pod, 5-minute metric. */
function scenario(overrides: Record<string, unknown> = {}): PrescaleConfig {
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
        // A gauge: the period in progress is known (settled Sums: settled-demand.test.ts).
        demand: { metric: { namespace: 'x', name: 'y', stat: 'Average', periodSeconds: 300 }, perPod: 100 },
      },
    ],
    ...overrides,
  });
}

/** History of 5-minute periods ending with the one in progress at NOW. */
function history(values: number[]) {
  return { startMs: NOW - (values.length - 1) * 5 * MIN, stepSeconds: 300, values };
}

/** A flat forecast starting at the next period, every quantile at `q`. */
function flatForecast(point: number, q: number): Forecast {
  const values = Array(20).fill(q);
  return { model: 'flat', startMs: NOW + 5 * MIN, stepSeconds: 300, point: Array(20).fill(point), quantiles: [0.5, 0.9, 0.95].map((level) => ({ level, values })) };
}

function input(cfg: PrescaleConfig, demand: number[], forecast: Forecast | undefined, desiredNodes: number, nowMs = NOW): PlanInput {
  const group: NodeGroupState = { name: 'g', status: 'ACTIVE', desiredNodes, minNodes: 2, maxNodes: 30, readyNodes: desiredNodes, bootingNodes: 0 };
  return {
    config: cfg,
    nowMs,
    trigger: 'scheduled',
    nodeGroups: [group],
    services: [{ service: 's', recentDemand: history(demand), hpa: undefined }],
    forecasts: forecast === undefined ? new Map() : new Map([['s', forecast]]),
    memory: { recommendations: {}, raisedFloors: {} },
    cooldowns: new Map(),
  };
}

const toNodes = (out: ReturnType<typeof plan>, current: number): number => {
  const command = out.commands.find((c) => c.kind === 'scale-node-group');
  return command?.kind === 'scale-node-group' ? command.toNodes : current;
};

describe('demand a decision must cover', () => {
  it('covers the observed period and, near its end, the next one from the forecast', () => {
    // Horizon = boot 3 + pod start 0 + schedule 1 = 4 min. At the start of a period (NOW) the window [NOW, NOW+4) stays inside it.
    const early = demandNeed({ history: history([500, 600]), forecast: flatForecast(900, 1000), serviceLevel: 0.9, nowMs: NOW, horizonMinutes: 4 });
    expect(early).toMatchObject({ demandNow: 600, forecastNeed: undefined, periodsAhead: 0 });
    // Two minutes in, [NOW+2, NOW+6) reaches the next period (NOW+5): forecast 1000, level offset 0 (no forecast period observed yet).
    const late = demandNeed({ history: history([500, 600]), forecast: flatForecast(900, 1000), serviceLevel: 0.9, nowMs: NOW + 2 * MIN, horizonMinutes: 4 });
    expect(late).toMatchObject({ demandNow: 600, forecastNeed: 1000, periodsAhead: 1, levelOffset: 0 });
  });

  it('leaves a period that starts exactly at the window end to the next run', () => {
    // At NOW+1, [NOW+1, NOW+5) ends where the next period starts: the run at NOW+2 buys it in time (ready at NOW+5).
    const atEdge = demandNeed({ history: history([500, 600]), forecast: flatForecast(900, 1000), serviceLevel: 0.9, nowMs: NOW + MIN, horizonMinutes: 4 });
    expect(atEdge).toMatchObject({ forecastNeed: undefined, periodsAhead: 0 });
  });

  it.each([
    // [first start, end, step] → periods starting in [first, end)
    [0, 4, 5, 1], // ceil(4 / 5) = 1
    [5, 5, 5, 0], // starts at the end: not inside
    [5, 6, 5, 1], // ceil(1 / 5) = 1
    [5, 10, 5, 1], // ceil(5 / 5) = 1: the one starting at 10 is excluded
    [5, 11, 5, 2], // ceil(6 / 5) = 2
  ])('periods from %i before %i, step %i → %i', (first, end, step, expected) => {
    expect(periodsStartingBefore(first, end, step)).toBe(expected);
  });

  it('keeps the need of one more period than the decision window', () => {
    // Forecast rises 1000, 1400, 800 over the next three periods (NOW+5, NOW+10, NOW+15).
    const rising: Forecast = { ...flatForecast(0, 0), quantiles: [{ level: 0.9, values: [1000, 1400, 800, ...Array(17).fill(800)] }] };
    // At NOW: decision window [NOW, NOW+4) holds no later period; keep window [NOW, NOW+9) holds NOW+5 → 1000.
    expect(demandNeed({ history: history([500, 600]), forecast: rising, serviceLevel: 0.9, nowMs: NOW, horizonMinutes: 4 })).toMatchObject({ forecastNeed: undefined, keepNeed: 1000 });
    // At NOW+2: decision [NOW+2, NOW+6) → 1000; keep [NOW+2, NOW+11) → max(1000, 1400) = 1400.
    expect(demandNeed({ history: history([500, 600]), forecast: rising, serviceLevel: 0.9, nowMs: NOW + 2 * MIN, horizonMinutes: 4 })).toMatchObject({ forecastNeed: 1000, keepNeed: 1400 });
  });

  it('moves a cached forecast by the level error it has shown since it was made', () => {
    // The forecast began 2 periods ago at point 900; actuals were 1000 and 1100 → mean error (100 + 200) / 2 = 150.
    const forecast = { ...flatForecast(900, 1000), startMs: NOW - 5 * MIN };
    const need = demandNeed({ history: history([800, 1000, 1100]), forecast, serviceLevel: 0.9, nowMs: NOW + 2 * MIN, horizonMinutes: 4 });
    expect(need.levelOffset).toBe(150);
    // next period quantile 1000 + 150 = 1150
    expect(need.forecastNeed).toBe(1150);
  });

  it.each([
    // [mean error, periods, σ] → offset = mean × max(0, 1 − σ² / (n × mean²))
    [150, 2, 0, 150], // σ unknown: no shrinkage
    [150, 2, 100, 150 * (1 - 10_000 / 45_000)], // 1 − 10 000 / (2 × 22 500) = 0.7778 → 116.67
    [-150, 2, 100, -150 * (1 - 10_000 / 45_000)], // symmetric: −116.67
    [50, 1, 100, 0], // 1 − 10 000 / 2 500 = −3 → 0: one period's error, all noise
    [300, 12, 100, 300 * (1 - 10_000 / 1_080_000)], // 1 − 10 000 / (12 × 90 000) = 0.9907 → 297.2: a level shift is kept
    [0, 5, 100, 0],
    [80, 0, 100, 0], // nothing observed yet
  ])('level error %d over %d periods with noise σ %d → offset %d', (meanError, periods, sigma, expected) => {
    expect(shrunkLevelOffset(meanError, periods, sigma)).toBeCloseTo(expected, 9);
  });

  it('reads one period of noise from the 95 % interval at the forecast\'s first step', () => {
    const withInterval: Forecast = { ...flatForecast(1000, 1100), quantiles: [{ level: 0.025, values: [804] }, { level: 0.975, values: [1196] }] };
    // (1196 − 804) / (2 × 1.96) = 392 / 3.92 = 100
    expect(firstStepNoiseSd(withInterval)).toBeCloseTo(100, 9);
    // Only the 0.5, 0.9, 0.95 levels: both ends read the nearest level present, 0.95 and 0.5, same values → 0.
    expect(firstStepNoiseSd(flatForecast(900, 1000))).toBe(0);
  });

  /** Point 900 from NOW − 5 min, p90 1000, 95 % interval 900 ± 196 → σ = 392 / 3.92 = 100. */
  const bandForecast = (): Forecast => {
    const band = (v: number) => Array(20).fill(v);
    return {
      model: 'flat',
      startMs: NOW - 5 * MIN,
      stepSeconds: 300,
      point: band(900),
      quantiles: [{ level: 0.025, values: band(704) }, { level: 0.9, values: band(1000) }, { level: 0.975, values: band(1096) }],
    };
  };

  it('shrinks a fresh forecast\'s level error by the noise its interval shows', () => {
    const forecast = bandForecast();
    // Actuals 1000, 1100 against 900: mean error 150 over 2 → 150 × (1 − 10 000 / 45 000) = 116.67.
    const two = demandNeed({ history: history([800, 1000, 1100]), forecast, serviceLevel: 0.9, nowMs: NOW + 2 * MIN, horizonMinutes: 4 });
    expect(two.levelOffset).toBeCloseTo(116.667, 3);
    // next period: quantile 1000 + 116.67
    expect(two.forecastNeed).toBeCloseTo(1116.667, 3);
    // A forecast begun at NOW has seen one period, +50: 1 − 10 000 / 2 500 < 0 → no correction, the quantile as forecast.
    const one = demandNeed({ history: history([800, 950]), forecast: { ...forecast, startMs: NOW }, serviceLevel: 0.9, nowMs: NOW + 2 * MIN, horizonMinutes: 4 });
    expect(one.levelOffset).toBe(0);
    expect(one.forecastNeed).toBe(1000);
  });

  it('shrinks by the noise the forecast measured, when it carries one, not its interval', () => {
    // The interval says σ = 100; the forecast measured a transient noise of 10.
    const forecast: Forecast = { ...bandForecast(), noiseSd: 10 };
    // Mean error 150 over 2: 150 × (1 − 100 / (2 × 22 500)) = 149.667, against 116.67 with the interval's σ.
    const need = demandNeed({ history: history([800, 1000, 1100]), forecast, serviceLevel: 0.9, nowMs: NOW + 2 * MIN, horizonMinutes: 4 });
    expect(need.levelOffset).toBeCloseTo(149.667, 3);
    // Damaged memory (a cached forecast read back): not a number, or negative → the interval's σ again, 116.67.
    for (const noiseSd of ['x', -10]) {
      const damaged = { ...bandForecast(), noiseSd } as unknown as Forecast;
      expect(demandNeed({ history: history([800, 1000, 1100]), forecast: damaged, serviceLevel: 0.9, nowMs: NOW + 2 * MIN, horizonMinutes: 4 }).levelOffset).toBeCloseTo(116.667, 3);
    }
  });

  it('treats data older than two periods as missing', () => {
    const stale = { startMs: NOW - 30 * MIN, stepSeconds: 300, values: [100, 100, 100, Number.NaN, Number.NaN, Number.NaN, Number.NaN] };
    expect(demandNeed({ history: stale, forecast: undefined, serviceLevel: 0.9, nowMs: NOW, horizonMinutes: 4 }).demandNow).toBeUndefined();
    expect(observedDemandAt(history([1, 2, 3]), NOW - 5 * MIN, NOW)).toBe(2);
    expect(observedDemandAt(history([1, 2, 3]), NOW + 5 * MIN, NOW)).toBeUndefined();
  });
});

describe('adaptive calibration', () => {
  it.each([
    // a miss: α = 0.1 + 0.01 × (0.1 − 1) = 0.091 → level 0.909
    [0.9, true, 0.909],
    // a hit: α = 0.1 + 0.01 × 0.1 = 0.101 → level 0.899
    [0.9, false, 0.899],
    // bounded above at 0.995
    [0.995, true, 0.995],
  ])('level %f after a %s → %f', (level, missed, expected) => {
    expect(calibrateLevel(level, 0.9, missed)).toBeCloseTo(expected, 12);
  });

  it('drops, unscored, a prediction whose period the recent demand no longer reaches', () => {
    // Recent demand starts at NOW − 5 min; a prediction for NOW − 2 h can never be observed again.
    const memory = { recommendations: {}, raisedFloors: {}, calibration: { s: { level: 0.9, pending: [{ startMs: NOW - 120 * MIN, value: 1 }] } } };
    const out = plan({ ...input(scenario(), [500, 600], flatForecast(900, 1000), 12), memory });
    // Level unchanged (0.9: not scored, though 500 > 1 would have been a miss); only this run's prediction (NOW + 5 min) waits.
    expect(out.memory.calibration?.['s']).toEqual({ level: 0.9, target: 0.9, pending: [{ startMs: NOW + 5 * MIN, value: 1000 }] });
  });

  it('converges to the target coverage on a miscalibrated forecast', () => {
    // Demand is U(0, 1); the forecast's quantile at level L reads L + 0.09 (too wide: at L = 0.9 it covers 99 %).
    // Calibration must lower the level it reads until about 90 % of periods are covered.
    let calibration = initialCalibration(0.9);
    const random = mulberry32(42);
    let covered = 0;
    const periods = 20_000;
    for (let i = 0; i < periods; i++) {
      const demand = random();
      const predicted = Math.min(1, calibration.level + 0.09);
      if (demand <= predicted) covered++;
      calibration = resolvePending({ ...calibration, pending: [{ startMs: i, value: predicted }] }, 0.9, () => demand);
    }
    expect(covered / periods).toBeGreaterThan(0.88);
    expect(covered / periods).toBeLessThan(0.92);
    // it read about 0.81 from the forecast to cover 90 %
    expect(calibration.level).toBeLessThan(0.85);
  });
});

describe("a service's own service level", () => {
  // Quantiles 0.5 → 800, 0.9 → 1000, 0.95 → 1100 for every period from NOW + 5 min.
  const spread: Forecast = { ...flatForecast(800, 0), quantiles: [[0.5, 800], [0.9, 1000], [0.95, 1100]].map(([level, v]) => ({ level: level!, values: Array(20).fill(v) })) };
  const withOwnLevel = (level: number): PrescaleConfig => {
    const cfg = scenario();
    return { ...cfg, services: [{ ...cfg.services[0]!, serviceLevel: level }] };
  };

  it('reads the forecast at its own level instead of the policy\'s', () => {
    // At NOW + 2 min the window [NOW+2, NOW+6) holds the period at NOW+5. Demand 600 on 4 nodes: floor ceil(600/100/0.9) = 7.
    // policy 0.9 → quantile 1000 → 10 pods → 10 nodes; the service's 0.5 → 800 → 8 nodes.
    expect(toNodes(plan(input(scenario(), [500, 600], spread, 4, NOW + 2 * MIN)), 4)).toBe(10);
    expect(toNodes(plan(input(withOwnLevel(0.5), [500, 600], spread, 4, NOW + 2 * MIN)), 4)).toBe(8);
  });

  it('serves its own level from the first run after an upgrade: an older release calibrated toward the policy\'s', () => {
    // Memory without a target, level 0.88, was calibrated toward the policy's 0.9; the service now asks 0.5:
    // 0.88 − 0.4 = 0.48 → read at the floor 0.5 → quantile 800 → 8 nodes (reading 0.88 would give 990 → 10).
    const memory = { recommendations: {}, raisedFloors: {}, calibration: { s: { level: 0.88, pending: [] } } };
    expect(toNodes(plan({ ...input(withOwnLevel(0.5), [500, 600], spread, 4, NOW + 2 * MIN), memory }), 4)).toBe(8);
  });

  it('serves a changed target from the next run, keeping the learned bias', () => {
    // Calibrated to 0.88 for a target of 0.9; the service's target is now 0.5: 0.88 − 0.4 = 0.48 → floor 0.5 → quantile 800 → 8 nodes.
    // Without the shift it would read 0.88: 800 + (0.38 / 0.4) × 200 = 990 → 10 nodes.
    const memory = { recommendations: {}, raisedFloors: {}, calibration: { s: { level: 0.88, target: 0.9, pending: [] } } };
    expect(toNodes(plan({ ...input(withOwnLevel(0.5), [500, 600], spread, 4, NOW + 2 * MIN), memory }), 4)).toBe(8);
  });

  it('is calibrated toward its own level', () => {
    // Remembered level 0.6 and a prediction of 10 000 for the period at NOW, observed 600: a hit.
    // Toward 0.5: α = 0.4 + 0.01 × (1 − 0.5) = 0.405 → level 0.595. Toward the policy's 0.9 it would be α = 0.4 + 0.01 × 0.1 = 0.401 → 0.599.
    const memory = (target: number) => ({ recommendations: {}, raisedFloors: {}, calibration: { s: { level: 0.6, target, pending: [{ startMs: NOW, value: 10_000 }] } } });
    expect(plan({ ...input(withOwnLevel(0.5), [500, 600], spread, 4, NOW + 2 * MIN), memory: memory(0.5) }).memory.calibration?.['s']?.level).toBeCloseTo(0.595, 12);
    expect(plan({ ...input(scenario(), [500, 600], spread, 4, NOW + 2 * MIN), memory: memory(0.9) }).memory.calibration?.['s']?.level).toBeCloseTo(0.599, 12);
  });
});

describe('the reactive cost ceiling', () => {
  // Quantiles 0.5 → 800, 0.9 → 1000 for every period from NOW + 5 min; at NOW + 2 min the window holds NOW + 5.
  const spread: Forecast = { ...flatForecast(800, 0), quantiles: [[0.5, 800], [0.9, 1000]].map(([level, v]) => ({ level: level!, values: Array(20).fill(v) })) };
  const at = NOW + 2 * MIN;
  const priced = (cfg: PrescaleConfig, memory: PlanInput['memory'] = { recommendations: {}, raisedFloors: {} }) => ({ ...input(cfg, [500, 600], spread, 4, at), memory, usdPerHourByGroup: { g: 0.5 } });
  // Spent evenly so far, the level already shifted by −ln 9 (0.9 → 0.5).
  const shifted = (shift: number) => ({
    recommendations: {},
    raisedFloors: {},
    costCeiling: { hours: [[at - 2 * MIN - 60 * MIN, 60, 5, 5] as const], ourUsdPerHour: 5, reactiveUsdPerHour: 5, shift, atMs: at - MIN },
  });

  it('prices this plan and the HPA + Cluster Autoscaler shadow for the next run to accrue', () => {
    // Ours: p90 1000 → 10 nodes × 0.5 = 5 USD/h. The shadow: its HPA (cpu 70 %) remembers the periods in progress since
    // NOW + 2 − 4 min, 500 and 600 → ceil(600 / (100 × 0.7)) = ceil(8.57) = 9 pods → 9 nodes × 0.5 = 4.5 USD/h.
    const out = plan(priced(scenario()));
    expect(toNodes(out, 4)).toBe(10);
    expect(out.memory.costCeiling).toEqual({ hours: [], ourUsdPerHour: 5, reactiveUsdPerHour: 4.5, shift: 0, atMs: at });
  });

  it('reads the forecast at the shifted level and says why', () => {
    // Even spend since: the shift holds at −ln 9 → level 0.5 → quantile 800 → 8 nodes instead of 10.
    const out = plan(priced(scenario(), shifted(-Math.log(9))));
    expect(toNodes(out, 4)).toBe(8);
    expect(out.services[0]!.reason).toContain('service level 0.9 → 0.5: spend above the HPA + Cluster Autoscaler shadow');
    // …and calibrates toward the level it serves.
    expect(out.memory.calibration?.['s']?.target).toBeCloseTo(0.5, 12);
  });

  it('is off when the policy says so: the configured level, and nothing remembered', () => {
    const off = scenario({ policy: { costCeiling: 'off' } });
    const out = plan(priced(off, shifted(-Math.log(9))));
    expect(toNodes(out, 4)).toBe(10);
    expect(out.memory.costCeiling).toBeUndefined();
  });

  it('is off, whatever it remembered, while a service\'s HPA scales on no CPU or memory target, and says why', () => {
    // The shadow cannot say what an external metric would ask: configured level 0.9 → quantile 1000 → 10 nodes, not 8.
    const cfg = scenario();
    const external = { ...cfg, services: [{ ...cfg.services[0]!, hpa: { ...cfg.services[0]!.hpa, metrics: [{ type: 'external' as const, metric: 'queue', targetValue: 5 }] } }] };
    const out = plan(priced(external, shifted(-Math.log(9))));
    expect(toNodes(out, 4)).toBe(10);
    expect(out.memory.costCeiling).toBeUndefined();
    expect(out.services[0]!.reason).toContain('its HPA scales on no CPU or memory target: the reactive cost ceiling cannot price the baseline and is off');
    expect(out.services[0]!.reason).not.toContain('service level 0.9 →');
  });

  it('accrues up to two schedule intervals on a long schedule', () => {
    // Hourly runs; the last priced 6 against 5 USD/h an hour ago. 60 min accrue (not 15): 6 and 5 USD,
    // overspend 0.2 × 60/1440 = 0.008333 → shift −0.003 × 0.008333 × 60 = −0.0015 (capped at 15 min: −0.0000938).
    const hourly = scenario({ policy: { scheduleMinutes: 60 } });
    const memory = { recommendations: {}, raisedFloors: {}, costCeiling: { hours: [], ourUsdPerHour: 6, reactiveUsdPerHour: 5, shift: 0, atMs: at - 60 * MIN } };
    expect(plan(priced(hourly, memory)).memory.costCeiling!.shift).toBeCloseTo(-0.003 * 0.2 * (60 / 1440) * 60, 12);
  });

  it('prices the shadow HPA on settled demand only: a Sum still settling raises prescale\'s floor, not the baseline', () => {
    // A 1-minute Sum at NOW + 20 s: minutes NOW − 3 and NOW − 2 settled at 700; NOW − 1 ended 20 s ago, partial at 2800.
    // The shadow HPA sees 700 → ceil(700 / (100 × 0.7)) = 10 pods = 10 nodes × $0.5 = $5/h (the partial 2800 would be
    // 40 pods, 30 nodes at the group's maximum: $15/h).
    const cfg = scenario();
    const sum = { ...cfg, services: [{ ...cfg.services[0]!, demand: { ...cfg.services[0]!.demand, metric: { ...cfg.services[0]!.demand.metric, stat: 'Sum', periodSeconds: 60 } } }] };
    const recentDemand = { startMs: NOW - 3 * MIN, stepSeconds: 60, values: [700, 700, 2800] };
    const out = plan({ ...input(sum, [0], undefined, 4, NOW + 20_000), services: [{ service: 's', recentDemand, hpa: undefined }], usdPerHourByGroup: { g: 0.5 } });
    expect(out.memory.costCeiling!.reactiveUsdPerHour).toBe(5);
  });

  it('prices nothing while a service\'s demand is unknown', () => {
    const out = plan({ ...priced(scenario()), services: [{ service: 's', recentDemand: history([Number.NaN, Number.NaN]), hpa: undefined }] });
    expect(out.memory.costCeiling).toMatchObject({ ourUsdPerHour: 0, reactiveUsdPerHour: 0 });
  });

  it('lowers the level run by run while the plans cost more than the shadow', () => {
    // Every run plans 10 nodes against the shadow's 9: 11 % over. The level read falls below 0.9 and keeps falling.
    let memory: PlanInput['memory'] = { recommendations: {}, raisedFloors: {} };
    const shifts: number[] = [];
    for (let run = 0; run < 30; run++) {
      // The same moment of a 5-minute period each time, 5 minutes later: demand, forecast and clock move together.
      const later = run * 5 * MIN;
      const base = input(scenario(), [500, 600], { ...spread, startMs: spread.startMs + later }, 10, at + later);
      const recentDemand = { ...history([500, 600]), startMs: history([500, 600]).startMs + later };
      const out = plan({ ...base, services: [{ service: 's', recentDemand, hpa: undefined }], memory, usdPerHourByGroup: { g: 0.5 } });
      memory = out.memory;
      shifts.push(memory.costCeiling!.shift);
    }
    expect(shifts[0]).toBe(0);
    expect(shifts[29]).toBeLessThan(0);
    for (let i = 2; i < shifts.length; i++) expect(shifts[i]).toBeLessThan(shifts[i - 1]!);
  });
});

describe('scale-in', () => {
  it('releases what neither this window nor the next period needs', () => {
    const cfg = scenario();
    // 12 nodes, demand 600: reactive floor ceil(12 × (600/1200)/0.9) = ceil(6.67) = 7.
    // At NOW the window [NOW, NOW+4) holds no later period; the next period (NOW+5) is forecast at 1000 → keep ceil(1000/100) = 10.
    // Scale in to max(7, 10) = 10 (within the step limit 12 − 5 = 7).
    expect(toNodes(plan(input(cfg, [500, 600], flatForecast(900, 1000), 12)), 12)).toBe(10);
    // With the next period forecast at 300, nothing claims more than the floor: 12 − 5 = 7 = the floor.
    expect(toNodes(plan(input(cfg, [500, 600], flatForecast(300, 300), 12)), 12)).toBe(7);
  });

  it.each<[number, number]>([
    // The group boots in 3 min (delay 3 + 0.5 = 3.5 min): nodes launched 3 min ago are ready but not yet past a
    // run → hold 12.
    [3, 12],
    // 4 min ago (4 ≥ 3.5): released as above, to the floor 7.
    [4, 7],
  ])('waits for a launch %i min ago to serve before releasing (→ %i nodes)', (minutesAgo, expected) => {
    const launched = { ...input(scenario(), [500, 600], flatForecast(300, 300), 12), cooldowns: new Map([['g', { lastScaleOutMs: NOW - minutesAgo * MIN, lastScaleInMs: undefined }]]) };
    expect(toNodes(plan(launched), 12)).toBe(expected);
  });
});

describe('plan invariants (fast-check)', () => {
  const cfg = scenario();
  const demandArb = fc.array(fc.double({ min: 0, max: 4000, noNaN: true }), { minLength: 3, maxLength: 12 });

  it('never outside [minNodes, maxNodes] and never a step beyond the limits', () => {
    fc.assert(
      fc.property(demandArb, fc.double({ min: 0, max: 6000, noNaN: true }), fc.integer({ min: 2, max: 30 }), fc.integer({ min: 0, max: 4 }), (demand, q, current, minute) => {
        const out = plan(input(cfg, demand, flatForecast(q, q), current, NOW + minute * MIN));
        const next = toNodes(out, current);
        expect(next).toBeGreaterThanOrEqual(2);
        expect(next).toBeLessThanOrEqual(30);
        expect(next - current).toBeLessThanOrEqual(cfg.policy.maxScaleOutNodes);
        expect(current - next).toBeLessThanOrEqual(cfg.policy.maxScaleInNodes);
      }),
    );
  });

  it('never scales in when the demand metric is missing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 10 }), fc.integer({ min: 2, max: 30 }), fc.double({ min: 0, max: 100, noNaN: true }), (gap, current, q) => {
        const demand = [...Array(3).fill(50), ...Array(gap).fill(Number.NaN)];
        expect(toNodes(plan(input(cfg, demand, flatForecast(q, q), current)), current)).toBeGreaterThanOrEqual(current);
      }),
    );
  });

  it('is monotone in forecast demand', () => {
    fc.assert(
      fc.property(demandArb, fc.double({ min: 0, max: 3000, noNaN: true }), fc.double({ min: 0, max: 3000, noNaN: true }), fc.integer({ min: 2, max: 30 }), (demand, a, b, current) => {
        const later = NOW + 3 * MIN; // the window reaches the next period
        const low = toNodes(plan(input(cfg, demand, flatForecast(Math.min(a, b), Math.min(a, b)), current, later)), current);
        const high = toNodes(plan(input(cfg, demand, flatForecast(Math.max(a, b), Math.max(a, b)), current, later)), current);
        expect(high).toBeGreaterThanOrEqual(low);
      }),
    );
  });
});

describe('rules', () => {
  const example = loadConfigFile('config/example.yaml');
  const gateway = example.services[0]!;
  const hpa = (minReplicas: number) => ({ namespace: 'debate', name: 'gateway', minReplicas, maxReplicas: 20, currentReplicas: minReplicas, desiredReplicas: minReplicas });
  // [name, live minReplicas, forecast pods, floor prescale holds, expected]
  it.each<[string, number, number | undefined, number | undefined, number | undefined]>([
    // configured 3; forecast 8 → raise 3 → 8
    ['raises ahead of a ramp', 3, 8, undefined, 8],
    // forecast 40 → capped at maxReplicas 20
    ['never above maxReplicas', 3, 40, undefined, 20],
    ['holds while the floor matches', 8, 8, 8, undefined],
    // forecast 5 < raised 8 → lower to 5
    ['eases with the forecast', 8, 5, 8, 5],
    // forecast 2 < configured 3 → restore 3
    ['restores the configured value after the ramp', 8, 2, 8, 3],
    // someone else set 6 and prescale holds nothing: leave it
    ['leaves a floor it did not raise', 6, 2, undefined, undefined],
    // prescale set 15, an operator then set 40: a held value that is not the live one lowers nothing
    ['leaves a floor someone else moved', 40, 15, 15, undefined],
    // prescale holds 4 (the configured value it once restored); the configuration now says 3 → 4 → 3
    ['lowers a floor it holds to a lowered configuration', 4, undefined, 4, 3],
  ])('HPA floor: %s', (_name, current, forecastPods, held, expected) => {
    expect(planHpaFloor(gateway, hpa(current), forecastPods, held)?.toMinReplicas).toBe(expected);
  });

  // [name, live minReplicas, forecast pods, floor prescale holds, floor it raised over, expected { to, raised over }]
  it.each<[string, number, number | undefined, number | undefined, number | undefined, { to: number; over: number | undefined } | undefined]>([
    // an operator's 6 (configured 3), forecast 12: raise 6 → 12, remembering the 6
    ["raises over an operator's floor and carries it", 6, 12, undefined, undefined, { to: 12, over: 6 }],
    // the configured 3 is nobody's: a raise over it carries nothing
    ['raises over the configured value, carrying nothing', 3, 12, undefined, undefined, { to: 12, over: undefined }],
    // holds 12 raised over 6, forecast 2: back to the 6, not to the configured 3
    ["restores the operator's floor, not the configured one", 12, 2, 12, 6, { to: 6, over: undefined }],
    // holds 12 raised over 6, forecast 9: eases to 9, above the 6
    ['eases above it', 12, 9, 12, 6, { to: 9, over: undefined }],
  ])('HPA floor raised over: %s', (_name, current, forecastPods, held, raisedOver, expected) => {
    const floor = planHpaFloor(gateway, hpa(current), forecastPods, held, raisedOver);
    expect(floor === undefined ? undefined : { to: floor.toMinReplicas, over: floor.raisedOverMinReplicas }).toStrictEqual(expected);
  });

  it('spot is short when not ACTIVE or at its maximum', () => {
    const spot = example.nodeGroups.find((g) => g.name === 'spot')!;
    const state = (status: NodeGroupState['status'], desiredNodes: number): NodeGroupState => ({ name: 'spot', status, desiredNodes, minNodes: 0, maxNodes: 15, readyNodes: desiredNodes, bootingNodes: 0 });
    expect(isSpotShort(spot, state('ACTIVE', 3))).toBe(false);
    expect(isSpotShort(spot, state('DEGRADED', 3))).toBe(true);
    expect(isSpotShort(spot, state('ACTIVE', 15))).toBe(true);
    expect(isSpotShort(example.nodeGroups[0]!, state('DEGRADED', 3))).toBe(false);
  });

  it('places the example workload: llm only on compute, gateway split over general and spot, context on memory', () => {
    const groups: NodeGroupState[] = example.nodeGroups.map((g) => ({ name: g.name, status: 'ACTIVE', desiredNodes: g.minNodes, minNodes: g.minNodes, maxNodes: g.maxNodes, readyNodes: g.minNodes, bootingNodes: 0 }));
    const flat = (value: number) => ({ startMs: NOW - 10 * MIN, stepSeconds: 60, values: Array(11).fill(value) });
    const out = plan({
      config: example,
      nowMs: NOW,
      trigger: 'scheduled',
      nodeGroups: groups,
      // gateway: 60 000 / (6000 × 0.9) → ceil(11.1) = 12 pods; llm: 600 / (120 × 0.9) → 6 pods; context: 9000 / (3000 × 0.9) → 4 pods
      services: [
        { service: 'gateway', recentDemand: flat(60_000), hpa: undefined },
        { service: 'llm', recentDemand: flat(600), hpa: undefined },
        { service: 'context', recentDemand: flat(9000), hpa: undefined },
      ],
      forecasts: new Map(),
      memory: { recommendations: {}, raisedFloors: {} },
      cooldowns: new Map(),
    });
    const nodes = Object.fromEntries(out.commands.flatMap((c) => (c.kind === 'scale-node-group' ? [[c.nodeGroup, c.toNodes]] : [])));
    // gateway 12 pods × 500m: spot gets floor(12 × 0.5) = 6 → 3 pods per 1930m node → 2 nodes; general 6 → 2 nodes, below its minimum 3 (no command)
    // llm 6 pods × 3500m on 7910m compute nodes → 2 per node → 3 nodes
    // context 4 pods × 8Gi on 29Gi memory nodes → 3 per node → 2 nodes
    expect(nodes).toEqual({ compute: 3, memory: 2, spot: 2 });
  });
});

describe('node prices', () => {
  it('throws naming the group when a price record is given but lacks a configured group', () => {
    expect(() => plan({ ...input(scenario(), [500, 600], undefined, 5), usdPerHourByGroup: { other: 0.1 } })).toThrow(/no price for node group "g"/);
  });

  it('plans the same with a complete price record as with none', () => {
    const base = input(scenario(), [500, 600], undefined, 5);
    expect(plan({ ...base, usdPerHourByGroup: { g: 0.096 } }).commands).toEqual(plan(base).commands);
  });
});
