/**
 * A new deployment's cost ceiling, warmed by a rehearsal. The ceiling
 * compares a whole day of spends, so a cold one steers only in proportion to
 * the share of a day it has seen: on a series where the configured level
 * costs more than HPA + Cluster Autoscaler, the first day overspends (about
 * a quarter on the ELB trace). But the metric history the forecast reads
 * already holds that day. So the first run (not an alarm's) with no ceiling in
 * memory replays the last day through this same pipeline, on the simulated
 * cloud (the one `prescale backtest` runs), fed with the history it just
 * read, and starts from the ceiling the rehearsal ends with: a full day of
 * both spends and a shift already moving.
 *
 * Only the ceiling is kept: the rehearsal's fleet, cooldowns and calibration
 * are of a cluster that never ran. What it cannot know it assumes:
 * - plans a human would be asked to approve count as approved (nobody
 *   answers a rehearsal); the budget's caps still clamp;
 * - the fleet the day starts with is the one there is now, spot is never
 *   short, and each HPA stays as the run found it (its replicas guard a gap
 *   read as zero, as they do live);
 * - no alarm fires (it replays scheduled runs only);
 * - an Average whose period is longer than a minute is known only as whole
 *   periods, so a run inside a period sees that period's mean where the live
 *   run saw the part so far (a Sum is served once settled, as live).
 * It never reads after now. It reads the metric over the day (and the
 * days before it a replayed refit reads finely) at the metric's own
 * period, and over the forecast's history window only where
 * the run did not just read it for a refit. Its work is bounded: past REHEARSAL_MAX_SERVICE_RUNS
 * or REHEARSAL_MAX_SERVICE_REFITS it replays the latest hours of the day
 * only, as they ran, and the rest counts as even.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import type { DemandHistory } from '../core/forecast/types.ts';
import { settledOrThrow } from '../errors.ts';
import type { CostCeiling } from '../core/plan/cost-ceiling.ts';
import { rememberedCostCeiling } from '../core/plan/cost-ceiling.ts';
import { clamp, positiveModulo } from '../core/forecast/numeric.ts';
import { FINE_SPREAD_DAYS } from '../core/forecast/prepare.ts';
import type { HpaState, NodeGroupState } from '../ports.ts';
import { createSimCloud, perMinuteFromHistories } from '../sim/cloud.ts';
import { createMemoryStateStore } from '../state/memory.ts';
import type { PipelinePorts, RunOptions, RunResult } from './run.ts';

const MINUTE_MS = 60_000;
/** The rehearsal replays the ceiling's whole window: one day. */
export const REHEARSAL_MINUTES = 1440;
/**
 * The most runs × services a rehearsal replays: 3 services at a 1-minute
 * schedule, a whole day (about 1.5 s of CPU on the machine the benches run
 * on; a run without it takes 47 ms)…
 */
export const REHEARSAL_MAX_SERVICE_RUNS = 3 * 1440;
/**
 * …and the most forecast refits × services: 3 services refitted hourly. A
 * refit costs what a live run's top-of-the-hour one does (≈ 13 ms a service
 * here); a day of them dominated a large cluster's rehearsal (30 services:
 * 9.8 s).
 */
export const REHEARSAL_MAX_SERVICE_REFITS = 3 * 24;
/** A dimension the rehearsal adds to each service's metric, so services reading one metric differently replay each its own reads. */
const REHEARSAL_DIMENSION = 'PrescaleRehearsalService';
/**
 * The day is read from this much earlier at the metric's own period, so its
 * first replayed runs have their recent window and HPA's scale-down window,
 * and each replayed refit the days it reads at that period when retention
 * serves its window coarser (FINE_SPREAD_DAYS).
 */
const REHEARSAL_LEAD_MINUTES = Math.max(60, FINE_SPREAD_DAYS * 1440);

export interface Rehearsal {
  readonly ceiling: CostCeiling;
  /** Scheduled runs replayed. */
  readonly runs: number;
  /** Minutes of the last day they cover at most (rehearsalSpanMinutes). */
  readonly spanMinutes: number;
}

/**
 * How much of the last day a rehearsal replays: all of it, or the latest
 * part whose runs and refits fit the budgets above. A larger cluster is
 * replayed as it runs, over fewer hours, rather than at a coarser cadence:
 * a coarser schedule plans for a longer horizon and holds capacity longer,
 * so it would rehearse a deployment dearer than the one configured (8–17 %
 * measured at a 34-minute cadence). The hours it does not replay count as
 * even, as for a cold ceiling.
 */
export function rehearsalSpanMinutes(scheduleMinutes: number, refitMinutes: number, services: number): number {
  const runsEach = Math.floor(REHEARSAL_MAX_SERVICE_RUNS / services);
  // Every replayed span starts with a refit (nothing is cached yet): at least one each.
  const refitsEach = Math.max(1, Math.floor(REHEARSAL_MAX_SERVICE_REFITS / services));
  return Math.min(REHEARSAL_MINUTES, runsEach * scheduleMinutes, refitsEach * refitMinutes);
}

/**
 * The config a rehearsal runs: approval thresholds out of reach (a plan
 * held for a human would never run), and each service's metric keyed by
 * the service, all else as configured.
 */
export function rehearsalConfig(config: PrescaleConfig): PrescaleConfig {
  const never = Number.POSITIVE_INFINITY;
  return {
    ...config,
    services: config.services.map((service) => ({
      ...service,
      demand: { ...service.demand, metric: { ...service.demand.metric, dimensions: { ...service.demand.metric.dimensions, [REHEARSAL_DIMENSION]: service.name } } },
    })),
    ...(config.budget === undefined ? {} : { budget: { ...config.budget, approval: { capacityChangePercent: never, costChangeUsdPerHour: never, projectedSpendPercent: never } } }),
  };
}

/**
 * The minutes of the scheduled runs a rehearsal replays, oldest first: every
 * `scheduleMinutes` back from the run before now, over the last
 * `spanMinutes`, none before the first minute of history.
 */
export function rehearsalMinutes(nowMinute: number, scheduleMinutes: number, firstHistoryMinute: number, spanMinutes = REHEARSAL_MINUTES): number[] {
  const minutes: number[] = [];
  for (let minute = nowMinute - scheduleMinutes; minute >= Math.max(firstHistoryMinute, nowMinute - spanMinutes); minute -= scheduleMinutes) minutes.push(minute);
  return minutes.reverse();
}

/** Where the rehearsal's read of the day starts: REHEARSAL_LEAD_MINUTES before the day, within the forecast's window. */
export function rehearsalDayStartMs(config: Pick<PrescaleConfig, 'policy'>, nowMs: number): number {
  return Math.max(nowMs - config.policy.historyDays * 1440 * MINUTE_MS, nowMs - (REHEARSAL_MINUTES + REHEARSAL_LEAD_MINUTES) * MINUTE_MS);
}

/** The minute (from t0Ms) where a history's first datapoint starts; +∞ when it has none. */
export function firstDatapointMinute(history: DemandHistory, t0Ms: number): number {
  const i = history.values.findIndex((v) => Number.isFinite(v));
  return i < 0 ? Number.POSITIVE_INFINITY : Math.floor((history.startMs + i * history.stepSeconds * 1000 - t0Ms) / MINUTE_MS);
}

/**
 * Replays the last day through `runOnce` (the pipeline, passed in so this
 * module does not import it back) and returns the cost ceiling it ends
 * with, or undefined when nothing was rehearsed (no history) or the
 * rehearsal priced nothing. Errors reading the history propagate: the caller
 * starts cold and says why.
 */
export async function rehearseCostCeiling(
  config: PrescaleConfig,
  ports: Pick<PipelinePorts, 'metrics' | 'forecaster'>,
  nodeGroups: readonly NodeGroupState[],
  /** The HPAs the run read, or undefined when it could read none (no manifest port). */
  hpas: readonly HpaState[] | undefined,
  nowMs: number,
  runOnce: (config: PrescaleConfig, ports: PipelinePorts, options: RunOptions) => Promise<RunResult>,
  /** Forecast windows the run already read, by service: not read again. */
  windowsRead: ReadonlyMap<string, DemandHistory> = new Map(),
): Promise<Rehearsal | undefined> {
  // Two reads per service in one batch: the forecast's window (older data comes back coarser, as to a refit) unless
  // the run just read it, and the rehearsed day at the metric's own period, so the replayed runs see what the real ones saw.
  const historyStartMs = nowMs - config.policy.historyDays * 1440 * MINUTE_MS;
  const dayStartMs = rehearsalDayStartMs(config, nowMs);
  const unread = config.services.filter((s) => !windowsRead.has(s.name));
  const requests = [...unread, ...config.services].map((s, i) => ({ query: s.demand.metric, startMs: i < unread.length ? historyStartMs : dayStartMs, endMs: nowMs + 1 }));
  const read = (await ports.metrics.getDemandMany(requests)).map(settledOrThrow);
  const windowOf = new Map([...windowsRead, ...unread.map((s, i) => [s.name, read[i]!] as const)]);
  const windows = config.services.map((s) => windowOf.get(s.name)!);
  const days = read.slice(unread.length);
  const t0Ms = Math.floor(Math.min(historyStartMs, ...[...windows, ...days].map((h) => h.startMs)) / MINUTE_MS) * MINUTE_MS;
  const nowMinute = Math.floor((nowMs - t0Ms) / MINUTE_MS);
  // The ceiling prices every service or none: runs before each service has a datapoint would price nothing.
  const firstHistoryMinute = Math.max(...config.services.map((_, i) => Math.min(firstDatapointMinute(windows[i]!, t0Ms), firstDatapointMinute(days[i]!, t0Ms))));
  const spanMinutes = rehearsalSpanMinutes(config.policy.scheduleMinutes, config.policy.refitMinutes, config.services.length);
  const minutes = rehearsalMinutes(nowMinute, config.policy.scheduleMinutes, firstHistoryMinute, spanMinutes);
  if (minutes.length === 0) return undefined;
  const rehearsed = rehearsalConfig(config);
  const initialNodes = Object.fromEntries(
    config.nodeGroups.map((g) => [g.name, clamp(nodeGroups.find((s) => s.name === g.name)?.desiredNodes ?? g.minNodes, g.minNodes, g.maxNodes)]),
  );
  const cloud = createSimCloud(rehearsed, t0Ms, initialNodes);
  for (const [i, service] of rehearsed.services.entries()) {
    const [window, day] = [windows[i]!, days[i]!];
    const periodMinutes = Math.max(1, Math.round(service.demand.metric.periodSeconds / 60));
    // The replay starts the metric's own periods where the day's read started them.
    const anchorMinute = positiveModulo(Math.round((day.startMs - t0Ms) / MINUTE_MS), periodMinutes);
    cloud.metrics.add(service.demand.metric, perMinuteFromHistories([window, day], t0Ms, nowMinute + 1, service.demand.metric), anchorMinute);
  }
  for (const hpa of hpas ?? []) cloud.manifests.seedHpa(hpa);
  const state = createMemoryStateStore();
  const simPorts: PipelinePorts = { clock: cloud.clock, metrics: cloud.metrics, capacity: cloud.capacity, manifests: hpas === undefined ? undefined : cloud.manifests, state, forecaster: ports.forecaster };
  for (const minute of minutes) {
    cloud.goToMinute(minute);
    await runOnce(rehearsed, simPorts, { trigger: 'scheduled', actor: 'rehearsal', runId: `rehearsal-${minute}`, rehearse: false });
  }
  const ceiling = rememberedCostCeiling((await state.getPlannerMemory(config.cluster.name))?.costCeiling, nowMs);
  return ceiling === undefined || ceiling.hours.length === 0 ? undefined : { ceiling, runs: minutes.length, spanMinutes };
}
