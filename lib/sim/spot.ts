/**
 * Seeded spot interruptions for the simulated cloud. EC2 gives a two-minute
 * interruption notice before it reclaims a spot instance; in the simulation the
 * noticed nodes' targets go `draining` at the notice minute and the nodes are
 * gone at the reclaim minute, so a reweight run in between can move traffic off.
 *
 * Interruptions arrive as a Poisson process (exponential gaps) drawn from a
 * mulberry32 stream: the same seed gives the same interruptions on every machine.
 */
import { PrescaleError } from '../errors.ts';
import { mulberry32 } from '../core/random.ts';

/** EC2's spot interruption notice. */
export const SPOT_NOTICE_MINUTES = 2;

export interface SpotInterruptionOptions {
  readonly seed: number;
  /** Notices fall in [startMinute, endMinute). */
  readonly startMinute: number;
  readonly endMinute: number;
  /** Mean gap between interruptions; give this or ratePerNodeHour with nodes. */
  readonly meanMinutesBetween?: number;
  /** Interruptions per node per hour (e.g. 0.05 ≈ one per node per 20 hours). */
  readonly ratePerNodeHour?: number;
  /** The spot group's size the rate applies to. */
  readonly nodes?: number;
  /** Nodes reclaimed by one interruption, uniform in [min, max]; default 1..1. */
  readonly nodesPerInterruption?: { readonly min: number; readonly max: number };
  readonly noticeMinutes?: number;
}

export interface SpotInterruption {
  readonly noticeMinute: number;
  readonly reclaimMinute: number;
  readonly nodes: number;
}

/** ratePerNodeHour × nodes interruptions an hour → 60 / that minutes apart: 0.05 × 10 = 0.5 / h → 120 min. */
export function meanMinutesBetweenInterruptions(options: SpotInterruptionOptions): number {
  if (options.meanMinutesBetween !== undefined) {
    if (options.ratePerNodeHour !== undefined) throw new PrescaleError('validation', 'spot interruptions: give meanMinutesBetween or ratePerNodeHour, not both');
    if (!(options.meanMinutesBetween > 0)) throw new PrescaleError('validation', `spot interruptions: meanMinutesBetween must be > 0 (got ${options.meanMinutesBetween})`);
    return options.meanMinutesBetween;
  }
  const rate = options.ratePerNodeHour;
  const nodes = options.nodes;
  if (rate === undefined || nodes === undefined) throw new PrescaleError('validation', 'spot interruptions: give meanMinutesBetween, or ratePerNodeHour with nodes');
  if (!(rate >= 0) || !(nodes >= 0)) throw new PrescaleError('validation', `spot interruptions: ratePerNodeHour and nodes must be ≥ 0 (got ${rate}, ${nodes})`);
  return rate * nodes === 0 ? Number.POSITIVE_INFINITY : 60 / (rate * nodes);
}

/** Sorted by notice minute; interruptions noticed in the same minute are merged into one. */
export function planSpotInterruptions(options: SpotInterruptionOptions): SpotInterruption[] {
  const meanMinutes = meanMinutesBetweenInterruptions(options);
  const noticeMinutes = options.noticeMinutes ?? SPOT_NOTICE_MINUTES;
  const { min, max } = options.nodesPerInterruption ?? { min: 1, max: 1 };
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new PrescaleError('validation', `spot interruptions: nodesPerInterruption must be integers with 1 ≤ min ≤ max (got ${min}..${max})`);
  }
  const random = mulberry32(options.seed);
  const byMinute = new Map<number, number>();
  let atMinute = options.startMinute;
  if (Number.isFinite(meanMinutes)) {
    for (;;) {
      // Inverse CDF of the exponential: 1 − u is in (0, 1], so the log is finite.
      atMinute += -Math.log(1 - random()) * meanMinutes;
      if (atMinute >= options.endMinute) break;
      const nodes = min + Math.floor(random() * (max - min + 1));
      const minute = Math.floor(atMinute);
      byMinute.set(minute, (byMinute.get(minute) ?? 0) + nodes);
    }
  }
  return [...byMinute.entries()]
    .sort(([a], [b]) => a - b)
    .map(([noticeMinute, nodes]) => ({ noticeMinute, reclaimMinute: noticeMinute + noticeMinutes, nodes }));
}

/** Nodes under notice at `minute` (noticed, not yet reclaimed): their targets drain. */
export function nodesUnderNotice(interruptions: readonly SpotInterruption[], minute: number): number {
  return interruptions.filter((i) => i.noticeMinute <= minute && minute < i.reclaimMinute).reduce((total, i) => total + i.nodes, 0);
}

/** Nodes reclaimed exactly at `minute` (the simulation removes them from the fleet then). */
export function nodesReclaimedAt(interruptions: readonly SpotInterruption[], minute: number): number {
  return interruptions.filter((i) => i.reclaimMinute === minute).reduce((total, i) => total + i.nodes, 0);
}
