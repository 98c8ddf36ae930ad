/**
 * `prescale backtest`: BACKTEST.md v1. The reference policies are computed
 * from their formulas; `predictive` is the product's own pipeline (the code
 * the scheduled and alarm handlers run) driven minute by minute on the
 * simulated cloud. Every policy is scored by the same physics.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import { parseConfig } from '../config/load.ts';
import { compareStrings } from '../core/canonical.ts';
import type { Forecaster } from '../core/forecast/types.ts';
import { quantileAt } from '../core/forecast/types.ts';
import { accumulatesOverPeriod } from '../core/cloudwatch-retention.ts';
import { runPipeline, type PipelinePorts } from '../pipeline/run.ts';
import type { StateStore } from '../ports.ts';
import { createSimCloud, SimAlarm } from './cloud.ts';
import { referencePolicy, type ReferencePolicy } from './reference-policies.ts';
import { initialFleetNodes, scoreDecisions, scoringStartMinute, type Scenario, type Scores } from './score.ts';
import { samplingPeriod, type MinuteGrid } from './trace.ts';


export const POLICY_NAMES = ['predictive', 'reactive', 'aws-predictive', 'static', 'oracle'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const SCENARIO_NODE_GROUP = 'fleet';
export const SCENARIO_SERVICE = 'app';
const SCENARIO_METRIC = { namespace: 'Backtest', name: 'Demand', dimensions: {}, stat: 'Average' } as const;

/**
 * How the predictive policy reads the trace's demand metric:
 * - `Average`: a gauge, known for the period in progress (BACKTEST.md lets a
 *   policy use d[m] at minute m);
 * - `Sum`: a count per period, as CloudWatch serves RequestCount — the policy
 *   reads a period only once it has ended and settled (lib/core/plan/demand.ts),
 *   a period and a minute or more after a gauge would have shown it.
 */
export const METRIC_STATS = ['Average', 'Sum'] as const;
export type MetricStat = (typeof METRIC_STATS)[number];

/** Knobs of the predictive policy a backtest may vary (the Pareto curve sweeps serviceLevel). */
export interface PredictiveKnobs {
  readonly serviceLevel?: number;
  /** The demand metric's period; a backtest uses the trace's own sampling interval. */
  readonly periodMinutes?: number;
  /** Other policy settings, as a config file would give them (for sweeps). */
  readonly policy?: Readonly<Record<string, unknown>>;
  /** The demand metric's statistic [Average]. */
  readonly metricStat?: MetricStat;
}

/**
 * The scenario as a prescale configuration: one node group whose node serves
 * C demand (one pod per node, the pod serving C), boot B minutes, bounds wide
 * enough never to bind, and the policy defaults a user gets.
 */
export function scenarioConfig(scenario: Scenario, knobs: PredictiveKnobs = {}): PrescaleConfig {
  return parseConfig(
    {
      version: 1,
      cluster: { name: 'backtest', region: 'us-east-1' },
      nodeGroups: [
        {
          name: SCENARIO_NODE_GROUP,
          instanceTypes: ['m5.large'],
          minNodes: 1,
          maxNodes: 1_000_000,
          allocatable: { cpu: '1000m', memory: '1Gi', pods: 1 },
          bootMinutes: scenario.bootMinutes,
          usdPerHour: scenario.usdPerNodeHour,
        },
      ],
      services: [
        {
          name: SCENARIO_SERVICE,
          namespace: 'backtest',
          deployment: SCENARIO_SERVICE,
          requests: { cpu: '1000m', memory: '1Gi' },
          podStartMinutes: 0,
          nodeGroups: [SCENARIO_NODE_GROUP],
          hpa: { minReplicas: 1, maxReplicas: 1_000_000, metrics: [{ type: 'cpu', targetUtilizationPercent: 70 }] },
          demand: { metric: { ...SCENARIO_METRIC, stat: knobs.metricStat ?? SCENARIO_METRIC.stat, periodSeconds: (knobs.periodMinutes ?? 1) * 60 }, perPod: scenario.capacityPerNode },
        },
      ],
      policy: { ...knobs.policy, ...(knobs.serviceLevel === undefined ? {} : { serviceLevel: knobs.serviceLevel }) },
    },
    'backtest scenario',
  );
}

export interface ForecastBand {
  /** Per scored minute: the forecast active at that minute for that minute (NaN when none). */
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly level: Float64Array;
}

export interface PredictiveRun {
  readonly desired: Int32Array;
  readonly band: ForecastBand;
  readonly alarmRuns: number;
  readonly scheduledRuns: number;
  /** Scheduled runs per forecast model (the model of the fit each run used). */
  readonly models: Readonly<Record<string, number>>;
  /** The service level the run used (the configured default unless a knob set it). */
  readonly serviceLevel: number;
  /** How the demand metric was read (see METRIC_STATS). */
  readonly metricStat: MetricStat;
}

export interface PredictiveOptions {
  readonly grid: MinuteGrid;
  readonly scenario: Scenario;
  readonly forecaster: Forecaster;
  readonly createStateStore: () => StateStore;
  readonly knobs?: PredictiveKnobs;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Experiments only (lib/sim/shadow-steer.ts): after each scored minute, given
   * our ready nodes then, the service level for the runs that follow.
   */
  readonly steerServiceLevel?: (minute: number, readyNodes: number) => number;
}

/** Utilisation alarm that fires the `alarm` entry point: ≥ 90 % of ready capacity in 2 of 3 minutes. */
export const BACKTEST_ALARM = { name: 'high-utilisation', threshold: 0.9, evaluationPeriods: 3, datapointsToAlarm: 2 } as const;

export async function runPredictive(options: PredictiveOptions): Promise<PredictiveRun> {
  const { grid, scenario } = options;
  const demand = grid.demand;
  const { periodMinutes, anchorMinute } = samplingPeriod(grid);
  let config = scenarioConfig(scenario, { ...options.knobs, periodMinutes });
  const start = scoringStartMinute(scenario);
  const cloud = createSimCloud(config, grid.t0Ms, { [SCENARIO_NODE_GROUP]: initialFleetNodes(demand, scenario) });
  const metricStat = options.knobs?.metricStat ?? SCENARIO_METRIC.stat;
  // A trace value is demand per sampling interval; as a Sum its minutes add up to it (step-held: value / period each).
  const perMinute = accumulatesOverPeriod(metricStat) ? demand.map((value) => value / periodMinutes) : demand;
  cloud.metrics.add(SCENARIO_METRIC, perMinute, anchorMinute);
  const ports: PipelinePorts = {
    clock: cloud.clock,
    metrics: cloud.metrics,
    capacity: cloud.capacity,
    manifests: undefined,
    state: options.createStateStore(),
    forecaster: options.forecaster,
  };
  const alarm = new SimAlarm(BACKTEST_ALARM);
  const fleet = cloud.capacity.fleet(SCENARIO_NODE_GROUP);
  const total = demand.length - start;
  const desired = new Int32Array(total);
  const band: ForecastBand = { lo: new Float64Array(total).fill(Number.NaN), hi: new Float64Array(total).fill(Number.NaN), level: new Float64Array(total).fill(Number.NaN) };
  const models = new Map<string, number>();
  let alarmRuns = 0;
  let scheduledRuns = 0;
  const level = config.policy.serviceLevel;
  for (let minute = start; minute < demand.length; minute++) {
    cloud.goToMinute(minute);
    const i = minute - start;
    const readyCapacity = fleet.readyNodes(minute) * scenario.capacityPerNode;
    const utilisation = readyCapacity > 0 ? demand[minute]! / readyCapacity : Number.POSITIVE_INFINITY;
    const scheduled = i % config.policy.scheduleMinutes === 0;
    if (alarm.observe(utilisation) && !scheduled) {
      alarmRuns++;
      await runPipeline(config, ports, { trigger: 'alarm', actor: `alarm:${BACKTEST_ALARM.name}`, runId: `alarm-${minute}` });
    }
    if (scheduled) {
      scheduledRuns++;
      const result = await runPipeline(config, ports, { trigger: 'scheduled', actor: 'scheduled', runId: `scheduled-${minute}` });
      const forecast = result.forecasts.get(SCENARIO_SERVICE);
      if (forecast !== undefined) {
        models.set(forecast.model, (models.get(forecast.model) ?? 0) + 1);
        const index = Math.floor((cloud.clock.nowMs() - forecast.startMs) / (forecast.stepSeconds * 1000));
        if (index >= 0 && index < forecast.point.length) {
          band.lo[i] = quantileAt(forecast, 0.025)[index]!;
          band.hi[i] = quantileAt(forecast, 0.975)[index]!;
          band.level[i] = quantileAt(forecast, level)[index]!;
        }
      }
    }
    desired[i] = fleet.aliveNodes;
    if (options.steerServiceLevel !== undefined) config = { ...config, policy: { ...config.policy, serviceLevel: options.steerServiceLevel(minute, fleet.readyNodes(minute)) } };
    if (options.onProgress !== undefined && (i % 1440 === 0 || i === total - 1)) options.onProgress(i + 1, total);
  }
  return { desired, band, alarmRuns, scheduledRuns, models: Object.fromEntries([...models].sort(([a], [b]) => compareStrings(a, b))), serviceLevel: level, metricStat };
}

export interface PolicyResult {
  readonly policy: PolicyName;
  readonly desired: Int32Array;
  readonly scores: Scores;
  readonly readyNodes: Int32Array;
  readonly aliveNodes: Int32Array;
}

export function scorePolicy(policy: PolicyName, demand: ArrayLike<number>, desired: Int32Array, scenario: Scenario): PolicyResult {
  const { readyNodes, aliveNodes, ...scores } = scoreDecisions(demand, desired, scenario);
  return { policy, desired, scores, readyNodes, aliveNodes };
}

export function runReference(policy: ReferencePolicy, grid: MinuteGrid, scenario: Scenario): PolicyResult {
  return scorePolicy(policy, grid.demand, referencePolicy(policy, grid.demand, scenario), scenario);
}

