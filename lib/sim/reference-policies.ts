/**
 * The reference policies of BACKTEST.md, exactly as written there. Each
 * returns the decision for every scored minute S..end.
 */
import { scoringStartMinute, type Scenario } from './score.ts';

export type ReferencePolicy = 'oracle' | 'reactive' | 'static';

/** Nodes for a demand level: max(1, ceil(demand / capacity)), as every reference policy counts them. */
export const nodesFor = (demand: number, capacity: number): number => Math.max(1, Math.ceil(demand / capacity));

/** desired[m] = max over k in [m, m+B] of max(1, ceil(d[k]/C)); k stops at the trace's end. */
export function oraclePolicy(demand: ArrayLike<number>, scenario: Scenario): Int32Array {
  const start = scoringStartMinute(scenario);
  const out = new Int32Array(demand.length - start);
  for (let m = start; m < demand.length; m++) {
    let need = 1;
    const last = Math.min(demand.length - 1, m + scenario.bootMinutes);
    for (let k = m; k <= last; k++) need = Math.max(need, nodesFor(demand[k]!, scenario.capacityPerNode));
    out[m - start] = need;
  }
  return out;
}

/** HPA + Cluster Autoscaler: r[m] = max(1, ceil(d[m] / (C * 0.7))); desired[m] = max(r[m-4..m]). */
export function reactivePolicy(demand: ArrayLike<number>, scenario: Scenario): Int32Array {
  const start = scoringStartMinute(scenario);
  const out = new Int32Array(demand.length - start);
  const recommendation = (m: number): number => nodesFor(demand[m]!, scenario.capacityPerNode * 0.7);
  for (let m = start; m < demand.length; m++) {
    let need = 1;
    for (let k = Math.max(0, m - 4); k <= m; k++) need = Math.max(need, recommendation(k));
    out[m - start] = need;
  }
  return out;
}

/** The warm-up peak plus 20 %: max(1, ceil(1.2 * max(d[0..S)) / C)). */
export function staticPolicy(demand: ArrayLike<number>, scenario: Scenario): Int32Array {
  const start = scoringStartMinute(scenario);
  let peak = 0;
  for (let m = 0; m < start; m++) peak = Math.max(peak, demand[m]!);
  return new Int32Array(demand.length - start).fill(nodesFor(1.2 * peak, scenario.capacityPerNode));
}

export function referencePolicy(name: ReferencePolicy, demand: ArrayLike<number>, scenario: Scenario): Int32Array {
  switch (name) {
    case 'oracle':
      return oraclePolicy(demand, scenario);
    case 'reactive':
      return reactivePolicy(demand, scenario);
    case 'static':
      return staticPolicy(demand, scenario);
  }
}
