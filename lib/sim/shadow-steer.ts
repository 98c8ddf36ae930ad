/**
 * An EXPERIMENT for the people steering, not a product policy: steer the
 * predictive policy's service level online so its unserved demand tracks
 * `ratio` × what a shadow HPA + Cluster Autoscaler (BACKTEST.md's reactive
 * policy, run beside it on the same demand) leaves unserved. It answers "what
 * would a knob defined relative to the reactive baseline buy?" with numbers
 * (`bench:backtest --shadow-reactive K`).
 *
 * Causal: the shortfalls of minute m are known at minute m (demand d[m], our
 * ready nodes, the shadow's ready nodes, which depend on d[0..m] only) and
 * only change the level of later runs. The level moves on the logit scale by
 * `gain` × (our shortfall − ratio × the shadow's), in nodes, so a minute the
 * shadow misses and we serve lowers the level (spend less), and a minute we
 * miss more than `ratio` of it raises it.
 */
import { clamp, logistic, logit } from '../core/forecast/numeric.ts';
import { MAX_CALIBRATED_LEVEL, MIN_CALIBRATED_LEVEL } from '../core/plan/calibration.ts';

export interface ShadowSteerOptions {
  readonly demand: ArrayLike<number>;
  /** The shadow reactive policy's ready nodes per scored minute (index 0 = first scored minute). */
  readonly shadowReadyNodes: ArrayLike<number>;
  readonly capacityPerNode: number;
  /** First scored minute of `demand`. */
  readonly startMinute: number;
  /** Target: our unserved ≈ ratio × the shadow's. */
  readonly ratio: number;
  /** Logit step per node of shortfall difference. */
  readonly gain: number;
  readonly initialLevel: number;
}

/** The bounds the online calibration keeps the level in (lib/core/plan/calibration.ts): the same quantity, steered another way. */
export const MIN_STEERED_LEVEL = MIN_CALIBRATED_LEVEL;
export const MAX_STEERED_LEVEL = MAX_CALIBRATED_LEVEL;


/** Minute m's shortfall in nodes: unserved demand / capacity per node. */
export function shortfallNodes(demand: number, readyNodes: number, capacityPerNode: number): number {
  return Math.max(0, demand - readyNodes * capacityPerNode) / capacityPerNode;
}

/** One step: the next level from the current one and minute m's two shortfalls. */
export function steerLevel(level: number, ourShortfallNodes: number, shadowShortfallNodes: number, ratio: number, gain: number): number {
  const z = logit(level) + gain * (ourShortfallNodes - ratio * shadowShortfallNodes);
  return clamp(logistic(z), MIN_STEERED_LEVEL, MAX_STEERED_LEVEL);
}

/** For runPredictive's `steerServiceLevel`: called after each scored minute with our ready nodes, returns the level to use next. */
export function createShadowSteer(options: ShadowSteerOptions): (minute: number, readyNodes: number) => number {
  let level = options.initialLevel;
  return (minute, readyNodes) => {
    const demand = options.demand[minute]!;
    const ours = shortfallNodes(demand, readyNodes, options.capacityPerNode);
    const shadow = shortfallNodes(demand, options.shadowReadyNodes[minute - options.startMinute]!, options.capacityPerNode);
    level = steerLevel(level, ours, shadow, options.ratio, options.gain);
    return level;
  };
}
