/**
 * What one target group can serve right now, and how much of that it deserves
 * given how it is behaving. Each rule is a small pure function so its table
 * test reads like the rule.
 */
import type { TargetHealthState } from '../../ports.ts';

/** Below this the SLO penalty does not cut: a group that gets no traffic reports no 5xx and no latency, so it could never show it has recovered. */
export const MIN_SLO_FACTOR = 0.1;

export type TargetHealthCounts = Readonly<Record<TargetHealthState, number>>;

export interface ServiceLevelObjective {
  /** Highest acceptable `TargetResponseTime` p95; undefined: latency is not judged. */
  readonly p95Seconds: number | undefined;
  /** Highest acceptable share of 5xx responses, in percent of requests; undefined: errors are not judged. */
  readonly max5xxPercent: number | undefined;
}

export interface ServingSignals {
  readonly healthyTargets: number;
  /** Demand one healthy target serves (any unit, the same for every group of the rule); undefined: all targets are alike. */
  readonly capacityPerTarget: number | undefined;
  /** Ready serving capacity of the node group behind the target group, in the same unit; undefined: not known. */
  readonly readyCapacity: number | undefined;
}

/** Only `healthy` targets get new requests: `initial` ones have not passed a check yet, `draining` ones are leaving, `unused`/`unavailable` say nothing about serving. */
export function healthyTargets(counts: TargetHealthCounts): number {
  return counts.healthy;
}

export function hasHealthyTarget(counts: TargetHealthCounts): boolean {
  return healthyTargets(counts) > 0;
}

/**
 * Healthy targets × capacity per target, bounded by the node group's ready
 * capacity when both are known (pods can be healthy on nodes that are already
 * overcommitted); the node group's ready capacity alone when that is all we
 * have. No healthy target: nothing to serve with.
 */
export function servingCapacity(signals: ServingSignals): number {
  if (signals.healthyTargets <= 0) return 0;
  const fromTargets = signals.healthyTargets * (signals.capacityPerTarget ?? 1);
  if (signals.readyCapacity === undefined) return fromTargets;
  if (signals.capacityPerTarget === undefined) return Math.max(0, signals.readyCapacity);
  return Math.max(0, Math.min(fromTargets, signals.readyCapacity));
}

/** 5xx responses as a percent of requests; undefined with no requests (nothing to judge on). */
export function http5xxPercent(count5xx: number, requestCount: number): number | undefined {
  if (!(requestCount > 0) || !Number.isFinite(count5xx)) return undefined;
  return (100 * Math.max(0, count5xx)) / requestCount;
}

/** `objective / observed` when the observed value misses the objective, else 1: twice over the SLO, half the weight. */
function missFactor(observed: number | undefined, objective: number | undefined): number {
  if (observed === undefined || objective === undefined || !Number.isFinite(observed) || observed <= objective) return 1;
  return objective / observed;
}

/** The share of its capacity a group keeps given its 5xx percent and p95 against the SLO, in [MIN_SLO_FACTOR, 1]. */
export function sloFactor(observed: { readonly http5xxPercent: number | undefined; readonly p95ResponseSeconds: number | undefined }, slo: ServiceLevelObjective): number {
  const errors = missFactor(observed.http5xxPercent, slo.max5xxPercent);
  const latency = missFactor(observed.p95ResponseSeconds, slo.p95Seconds);
  return Math.max(MIN_SLO_FACTOR, errors * latency);
}
