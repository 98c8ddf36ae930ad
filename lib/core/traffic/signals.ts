/**
 * What the reweight run observes besides target health, turned into the
 * planner's inputs: the ready capacity of the node group behind a target
 * group, and the target group's SLO signals from CloudWatch. Pure: the handler
 * fetches, these functions decide what the numbers mean.
 *
 * ALB facts this file leans on (ELB user guide, "CloudWatch metrics for your
 * Application Load Balancer"):
 * - per-target-group metrics live in `AWS/ApplicationELB` with the dimensions
 *   `LoadBalancer` (`app/<name>/<id>`) and `TargetGroup` (`targetgroup/<name>/<id>`);
 * - `RequestCount`, `HTTPCode_Target_5XX_Count` and `TargetResponseTime` are
 *   reported only when non-zero: a minute with requests and no 5xx datapoint
 *   had no 5xx.
 */
import type { NodeGroupConfig } from '../../config/schema.ts';
import type { DemandHistory } from '../forecast/types.ts';
import type { MetricQuery, NodeGroupState } from '../../ports.ts';
import { http5xxPercent, type TargetHealthCounts } from './capacity.ts';

const MINUTE_MS = 60_000;
export const ALB_NAMESPACE = 'AWS/ApplicationELB';
/** Minutes of CloudWatch history a run looks back for the latest minute with requests (ALB metrics land a minute or two late). */
export const SLO_WINDOW_MINUTES = 5;
const SLO_PERIOD_SECONDS = 60;

/**
 * Ready serving capacity of a node group in allocatable CPU millicores: the
 * one resource every node group declares, and the target groups of one rule
 * front the same service, so requests per millicore are alike across groups
 * (a c5.2xlarge group weighs four m5.large ones).
 * 3 ready nodes × 1930 m = 5790 m.
 */
export function readyCapacityMillicores(state: Pick<NodeGroupState, 'readyNodes'>, group: Pick<NodeGroupConfig, 'allocatable'>): number {
  return Math.max(0, state.readyNodes) * group.allocatable.cpuMillicores;
}

/**
 * The ready capacity spread evenly over the targets that sit on serving nodes
 * (healthy, unhealthy, draining; `initial` targets are on nodes still booting
 * or pods not yet checked, which ready capacity does not count). The planner
 * then gives the group healthy × this, so a group with half its targets
 * draining offers half its ready capacity: 4000 m over 4 targets, 2 draining →
 * 1000 m per target, 2 healthy → 2000 m. Undefined when nothing is known.
 */
export function capacityPerTargetFrom(readyCapacity: number | undefined, counts: TargetHealthCounts): number | undefined {
  const servingTargets = counts.healthy + counts.unhealthy + counts.draining;
  if (readyCapacity === undefined || servingTargets <= 0) return undefined;
  return readyCapacity / servingTargets;
}

/** `arn:…:listener/app/debate-prod/50dc…/f2f7…` → `app/debate-prod/50dc…`; undefined for anything else. */
export function loadBalancerDimension(listenerArn: string): string | undefined {
  const match = /:listener\/(app\/[^/]+\/[^/]+)\/[^/]+$/.exec(listenerArn);
  return match?.[1];
}

/** `arn:…:targetgroup/gateway-spot/2453…` → `targetgroup/gateway-spot/2453…`; undefined for anything else. */
export function targetGroupDimension(targetGroupArn: string): string | undefined {
  const match = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(targetGroupArn);
  return match?.[1];
}

export interface SloQueries {
  readonly requests: MetricQuery;
  readonly errors5xx: MetricQuery;
  readonly p95: MetricQuery;
}

/** The three per-minute queries of one target group, or undefined when the ARNs do not name an ALB and a target group. */
export function sloQueries(listenerArn: string, targetGroupArn: string): SloQueries | undefined {
  const loadBalancer = loadBalancerDimension(listenerArn);
  const targetGroup = targetGroupDimension(targetGroupArn);
  if (loadBalancer === undefined || targetGroup === undefined) return undefined;
  const dimensions = { LoadBalancer: loadBalancer, TargetGroup: targetGroup };
  const query = (name: string, stat: string): MetricQuery => ({ namespace: ALB_NAMESPACE, name, dimensions, stat, periodSeconds: SLO_PERIOD_SECONDS });
  return { requests: query('RequestCount', 'Sum'), errors5xx: query('HTTPCode_Target_5XX_Count', 'Sum'), p95: query('TargetResponseTime', 'p95') };
}

/**
 * The last SLO_WINDOW_MINUTES whole minutes before now: the minute in progress
 * is left out, its counts are partial. now 10:07:30 → [10:02, 10:07).
 */
export function sloWindow(nowMs: number): { readonly startMs: number; readonly endMs: number } {
  const endMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
  return { startMs: endMs - SLO_WINDOW_MINUTES * MINUTE_MS, endMs };
}

function valueAt(history: DemandHistory, timeMs: number): number {
  const index = (timeMs - history.startMs) / (history.stepSeconds * 1000);
  return Number.isInteger(index) && index >= 0 ? (history.values[index] ?? Number.NaN) : Number.NaN;
}

export interface SloSignals {
  readonly http5xxPercent: number | undefined;
  readonly p95ResponseSeconds: number | undefined;
}

/**
 * The latest minute with requests decides, for both signals (one period, as the
 * planner's inputs are documented): 5xx / requests × 100 (no 5xx datapoint → 0,
 * ALB omits zero counts) and that minute's p95. No minute with requests: not
 * judged (an idle group must not be cut for silence).
 * requests [200, NaN], 5xx [NaN, NaN] → minute 0: 0 %; requests [200, 400], 5xx [NaN, 20] → 5 %.
 */
export function latestSloSignals(series: { readonly requests: DemandHistory; readonly errors5xx: DemandHistory; readonly p95: DemandHistory }): SloSignals {
  const { requests } = series;
  for (let i = requests.values.length - 1; i >= 0; i--) {
    const count = requests.values[i]!;
    if (!(Number.isFinite(count) && count > 0)) continue;
    const timeMs = requests.startMs + i * requests.stepSeconds * 1000;
    const errors = valueAt(series.errors5xx, timeMs);
    const p95 = valueAt(series.p95, timeMs);
    return {
      http5xxPercent: http5xxPercent(Number.isFinite(errors) ? errors : 0, count),
      p95ResponseSeconds: Number.isFinite(p95) ? p95 : undefined,
    };
  }
  return { http5xxPercent: undefined, p95ResponseSeconds: undefined };
}
