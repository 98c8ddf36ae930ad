/**
 * The reactive cost ceiling: prescale spends no more than the HPA + Cluster
 * Autoscaler it replaces would. Beside each plan the planner prices a shadow
 * of that baseline (each service's HPA at its own target utilisation, its
 * pods packed onto the same node groups). Both spends accrue run by run, per
 * clock hour, over the last 24 hours. While prescale's spend over that day is
 * above the shadow's, the service levels the forecast is read at step down,
 * on the logit scale, in proportion to the overspend and the time it lasted
 * (an integral controller, so the spend settles at the shadow's, not at a
 * fixed margin above it); while it is below, they step back up, never past
 * the configured levels.
 *
 * A whole day, not a decaying average: prescale's headroom is a forecast
 * quantile, the baseline's a share of demand, so prescale spends more at
 * night and less at the peak. Over a whole day that pattern cancels; a
 * shorter or decaying memory would lower the levels every night and morning,
 * ramps included. Hours not yet seen count as even, so the first runs of a
 * new deployment steer in proportion to how much of a day they have seen.
 *
 * The shadow is BACKTEST.md's reactive policy for any cluster: HPA's window
 * and target, nodes packed afresh and released at once. A real Cluster
 * Autoscaler keeps a node 10 minutes after it is unneeded and never
 * repacks, so the real baseline spends more than its shadow: the ceiling
 * errs toward spending less, never more.
 *
 * Why: the service level is a quantile, and on a heavy-tailed series a high
 * quantile costs more headroom than the baseline's fixed 43 % (a 70 %
 * target). There the ceiling buys as much service as the baseline's money
 * buys, instead of more service for more money; where the forecast is sharp
 * it never binds.
 */
import type { PrescaleConfig, ServiceConfig } from '../../config/schema.ts';
import type { DemandHistory } from '../forecast/types.ts';
import { clamp, logistic, logit } from '../forecast/numeric.ts';
import { MIN_CALIBRATED_LEVEL } from './calibration.ts';
import { MINUTE_MS } from './demand.ts';
import { podsForDemand } from './hpa.ts';

const HOUR_MS = 60 * MINUTE_MS;
/** The spends compared: the last 24 clock hours. */
export const COST_CEILING_WINDOW_HOURS = 24;
/**
 * Logit step per minute per unit of the day's relative overspend: a day
 * 10 % over moves the level by 0.018 an hour on the logit scale. Slow on
 * purpose: the day-long window shows a change of level fully only a day
 * later (half of it after about 12 hours), and an integral controller that
 * moves faster than it can see overshoots into a cycle between the
 * configured level and 0.5 (measured with 0.02: a 2.5-day cycle on the ELB
 * trace). With a spend that moves by β per logit unit (≈ 0.25 on the ELB
 * trace: 0.9 → 0.8 costs about 20 % less) the loop crosses over at
 * 0.003 × β per minute, and the window's 12-hour lag costs it
 * 0.003 × 0.25 × 720 ≈ 0.54 rad, leaving about 60° of phase margin, still
 * about 30° at β = 0.5.
 */
export const COST_CEILING_GAIN_PER_MINUTE = 0.003;
/**
 * A pause between runs longer than this many minutes, or two schedule
 * intervals if longer, accrues only that much: nothing was decided in
 * between, and a stale rate must not dominate.
 */
export const COST_CEILING_MAX_ACCRUAL_MINUTES = 15;

/** One clock hour's spends: [hour start (epoch ms), minutes accrued, prescale's USD, the shadow's USD]. */
export type HourSpend = readonly [number, number, number, number];

export interface CostCeiling {
  /** Spends per clock hour over the last day, oldest first. */
  readonly hours: readonly HourSpend[];
  /** The latest run's rates, accrued at the next run over the time between them. */
  readonly ourUsdPerHour: number;
  readonly reactiveUsdPerHour: number;
  /** Logit shift applied to every service level, ≤ 0. */
  readonly shift: number;
  /** When the rates above were set. */
  readonly atMs: number;
}

/**
 * The lowest useful shift: the one that reads the highest configured level
 * at 0.5, where every level stops (ceiledServiceLevel). Going further would
 * only wind up, and delay the way back once the overspend ends.
 */
export function lowestShift(configuredLevels: readonly number[]): number {
  return 0 - Math.max(0, ...configuredLevels.map((level) => logit(level) - logit(MIN_CALIBRATED_LEVEL)));
}

/**
 * `hours` with [fromMs, toMs) accrued at the two rates, split at clock
 * hours, and only the hours of the window ending at `toMs` kept.
 */
export function accrueHours(hours: readonly HourSpend[], fromMs: number, toMs: number, ourUsdPerHour: number, reactiveUsdPerHour: number): HourSpend[] {
  const byHour = new Map<number, [number, number, number, number]>(hours.map(([h, m, o, r]) => [h, [h, m, o, r]]));
  for (let t = fromMs; t < toMs; ) {
    const hour = Math.floor(t / HOUR_MS) * HOUR_MS;
    const end = Math.min(toMs, hour + HOUR_MS);
    const minutes = (end - t) / MINUTE_MS;
    const bucket = byHour.get(hour) ?? [hour, 0, 0, 0];
    byHour.set(hour, [hour, bucket[1] + minutes, bucket[2] + (ourUsdPerHour * minutes) / 60, bucket[3] + (reactiveUsdPerHour * minutes) / 60]);
    t = end;
  }
  const oldestKept = Math.floor(toMs / HOUR_MS) * HOUR_MS - (COST_CEILING_WINDOW_HOURS - 1) * HOUR_MS;
  return [...byHour.values()].filter(([h]) => h >= oldestKept).sort((a, b) => a[0] - b[0]);
}

/**
 * The relative overspend of a day: (ours − the shadow's) / the shadow's over
 * the hours seen, weighted by the share of a day they cover (the rest counts
 * as even). 0 when the shadow spent nothing.
 */
export function dayOverspend(hours: readonly HourSpend[]): number {
  let minutes = 0;
  let ourUsd = 0;
  let reactiveUsd = 0;
  for (const [, m, o, r] of hours) {
    minutes += m;
    ourUsd += o;
    reactiveUsd += r;
  }
  if (!(reactiveUsd > 0)) return 0;
  return ((ourUsd - reactiveUsd) / reactiveUsd) * Math.min(1, minutes / (COST_CEILING_WINDOW_HOURS * 60));
}

/**
 * Both spends accrued up to `nowMs` at the rates the last run set, and the
 * shift moved by the day's overspend, kept within [floorShift, 0].
 * Undefined memory starts at no shift and no spend.
 */
export function accrueCostCeiling(previous: CostCeiling | undefined, nowMs: number, floorShift: number, scheduleMinutes = 1): CostCeiling {
  if (previous === undefined) return { hours: [], ourUsdPerHour: 0, reactiveUsdPerHour: 0, shift: 0, atMs: nowMs };
  const minutes = Math.min(Math.max(COST_CEILING_MAX_ACCRUAL_MINUTES, 2 * scheduleMinutes), (nowMs - previous.atMs) / MINUTE_MS);
  if (!(minutes > 0)) return previous;
  // The last run could not price one side (a service's demand unknown): the time since says nothing either way,
  // and a lowered level relaxes toward the configured one over about the day the evidence for it takes to age out.
  const priced = previous.ourUsdPerHour > 0 || previous.reactiveUsdPerHour > 0;
  const hours = accrueHours(previous.hours, nowMs - (priced ? minutes * MINUTE_MS : 0), nowMs, previous.ourUsdPerHour, previous.reactiveUsdPerHour);
  // The relaxation follows real time (the evidence ages by it), not the capped accrual.
  const elapsedMinutes = (nowMs - previous.atMs) / MINUTE_MS;
  if (!priced) return { ...previous, hours, shift: previous.shift * Math.exp(-elapsedMinutes / (COST_CEILING_WINDOW_HOURS * 60)), atMs: nowMs };
  const shift = clamp(previous.shift - COST_CEILING_GAIN_PER_MINUTE * dayOverspend(hours) * minutes, Math.min(0, floorShift), 0);
  return { ...previous, hours, shift, atMs: nowMs };
}

/**
 * The ceiling with prescale's rate set to what actually runs (never below
 * 0): a scale-out held for approval, cut by the budget or failed leaves its
 * group as it was, so only money spent steers. Unchanged when this run
 * priced nothing.
 */
export function withOurRate(ceiling: CostCeiling, ourUsdPerHour: number): CostCeiling {
  if (ceiling.ourUsdPerHour === 0 && ceiling.reactiveUsdPerHour === 0) return ceiling;
  return { ...ceiling, ourUsdPerHour: Math.max(0, ourUsdPerHour) };
}

/**
 * The level a service is planned at under the ceiling: its configured level
 * moved by the shift on the logit scale, never below the lowest level
 * calibration reads (0.5) nor above the configured one.
 */
export function ceiledServiceLevel(configuredLevel: number, shift: number): number {
  if (shift >= 0) return configuredLevel;
  return clamp(logistic(logit(configuredLevel) + shift), Math.min(MIN_CALIBRATED_LEVEL, configuredLevel), configuredLevel);
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const isHourSpend = (h: unknown): h is HourSpend =>
  Array.isArray(h) && h.length === 4 && h.every((v) => isFiniteNumber(v)) && (h as number[]).slice(1).every((v) => v >= 0) && (h[0] as number) % HOUR_MS === 0;

/**
 * The ceiling as remembered (JSON read back from the state store): rates
 * ≥ 0, the shift ≤ 0, each hour a clock hour with finite spends ≥ 0.
 * Anything else starts over, as if new. A time after now (a run that read
 * the clock before a later run saved, or a clock stepped back) is read as
 * now: nothing accrues until time passes it, and the day is kept.
 */
export function rememberedCostCeiling(remembered: unknown, nowMs: number): CostCeiling | undefined {
  if (typeof remembered !== 'object' || remembered === null) return undefined;
  const { hours, ourUsdPerHour, reactiveUsdPerHour, shift, atMs } = remembered as Record<string, unknown>;
  if (!isFiniteNumber(ourUsdPerHour) || ourUsdPerHour < 0 || !isFiniteNumber(reactiveUsdPerHour) || reactiveUsdPerHour < 0) return undefined;
  if (!isFiniteNumber(shift) || shift > 0 || !isFiniteNumber(atMs)) return undefined;
  if (!Array.isArray(hours) || !hours.every(isHourSpend)) return undefined;
  return { hours: [...hours].sort((a, b) => a[0] - b[0]), ourUsdPerHour, reactiveUsdPerHour, shift, atMs: Math.min(atMs, nowMs) };
}

/** Kubernetes' default HPA scale-down stabilisation window. */
export const HPA_DEFAULT_SCALE_DOWN_WINDOW_SECONDS = 300;

/**
 * The utilisation the shadow HPA scales a service to: the lowest of its
 * CPU and memory targets (HPA runs the most replicas any metric asks for,
 * and demand loads CPU and memory alike). Undefined when it scales on
 * neither: prescale cannot say what a pods or external metric would ask.
 */
export function shadowTargetUtilization(hpa: ServiceConfig['hpa']): number | undefined {
  const targets = hpa.metrics.flatMap((m) => (m.type === 'cpu' || m.type === 'memory' ? [m.targetUtilizationPercent / 100] : []));
  return targets.length === 0 ? undefined : Math.min(...targets);
}

/** Whether the ceiling steers this cluster: it is on, and every service's HPA has a CPU or memory target to price. */
export function isCostCeilingPriced(config: Pick<PrescaleConfig, 'policy' | 'services'>): boolean {
  return config.policy.costCeiling === 'reactive' && config.services.every((s) => shadowTargetUtilization(s.hpa) !== undefined);
}

/**
 * The highest finite demand among the periods of `history` in progress at
 * some moment of [fromMs, nowMs]: what HPA's scale-down window still
 * remembers. Undefined when none has a datapoint.
 */
export function demandPeakSince(history: DemandHistory, fromMs: number, nowMs: number): number | undefined {
  const stepMs = history.stepSeconds * 1000;
  let peak: number | undefined;
  for (let i = 0; i < history.values.length; i++) {
    const startMs = history.startMs + i * stepMs;
    if (startMs > nowMs || startMs + stepMs <= fromMs) continue;
    const value = history.values[i]!;
    if (Number.isFinite(value)) peak = Math.max(peak ?? value, value);
  }
  return peak;
}

/** Replicas the shadow HPA runs for a demand peak: ceil(peak / (per pod × target)), within [min, max]. */
export function shadowHpaPods(peakDemand: number, demandPerPod: number, targetUtilization: number, minReplicas: number, maxReplicas: number): number {
  return clamp(podsForDemand(peakDemand, demandPerPod, targetUtilization), minReplicas, maxReplicas);
}

/**
 * Pods the service's own HPA would run now: the highest demand of its
 * scale-down window at its target. The HPA reads the metric with the same
 * lag prescale does (`observationLagMs`: a settled Sum is a period and a
 * minute old), so its window covers the periods observed over the last
 * window, not those in progress during it; one recommendation a minute (the
 * finest a CloudWatch metric resolves), so the window's oldest is a minute
 * after its start. Undefined when demand now is unknown, or when the HPA
 * scales on no CPU or memory target: what a pods or external metric would
 * ask is not prescale's to guess, and the ceiling is not priced then.
 */
export function shadowServicePods(
  service: Pick<ServiceConfig, 'hpa' | 'demand'>,
  demandNow: number | undefined,
  recent: DemandHistory | undefined,
  nowMs: number,
  observationLagMs: number,
): number | undefined {
  const target = shadowTargetUtilization(service.hpa);
  if (demandNow === undefined || target === undefined) return undefined;
  const windowMs = (service.hpa.behavior?.scaleDown?.stabilizationWindowSeconds ?? HPA_DEFAULT_SCALE_DOWN_WINDOW_SECONDS) * 1000;
  const observedAtMs = nowMs - observationLagMs;
  const windowPeak = recent === undefined ? undefined : demandPeakSince(recent, observedAtMs - Math.max(0, windowMs - MINUTE_MS), observedAtMs);
  return shadowHpaPods(Math.max(demandNow, windowPeak ?? 0), service.demand.perPod, target, service.hpa.minReplicas, service.hpa.maxReplicas);
}
