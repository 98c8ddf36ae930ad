/**
 * `prescale backtest --spot-interruptions SEED [--spot-share F]`: the ALB side
 * of a backtest (issue 8). A policy's fleet is split into an on-demand and a
 * spot node group behind two target groups of one ALB rule; seeded spot
 * interruptions give EC2's two-minute notice; the product's own `reweight` run
 * (lib/handlers/reweight.ts, the code the Lambda runs) steps every minute on
 * the simulated ALB, and the weight must leave the spot group before its nodes go.
 *
 * It scores nothing of BACKTEST.md: decisions*.csv and the policy scores are
 * computed as without it. Its outputs are extra: `traffic` in summary.json,
 * weights.csv, and a chart in the report.
 *
 * Physics, per minute m (scored minutes only):
 * 1. nodes noticed by an interruption whose reclaim minute is m are gone;
 * 2. each group is set to its share of the policy's desired nodes (spot =
 *    ⌊desired × F⌋, on-demand the rest, as `policy.spotShare` places pods), so a
 *    reclaimed node is replaced by a launch at m, ready at m + B;
 * 3. an interruption noticed at m marks the spot group's live nodes, oldest
 *    first: their targets go `draining` (booting ones stay `initial`);
 * 4. the reweight run; the weights after it are the minute's row of weights.csv.
 */
import { parseConfig } from '../config/load.ts';
import type { PrescaleConfig } from '../config/schema.ts';
import type { TargetGroupWeight } from '../core/commands.ts';
import { targetGroupName } from '../core/traffic/weights.ts';
import { PrescaleError } from '../errors.ts';
import { runReweight } from '../handlers/reweight.ts';
import type { CapacityActuator, MetricsSource, NodeGroupState, StateStore } from '../ports.ts';
import { SteppedClock } from './cloud.ts';
import { appendReportSection, trafficReportHtml } from './report-traffic.ts';
import { initialFleetNodes, scoringStartMinute, type Scenario } from './score.ts';
import { planSpotInterruptions, SPOT_NOTICE_MINUTES } from './spot.ts';
import type { MinuteGrid } from './trace.ts';
import { SimTraffic } from './traffic.ts';

const MINUTE_MS = 60_000;
export const ON_DEMAND_GROUP = 'on-demand';
export const SPOT_GROUP = 'spot';
const LISTENER_ARN = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/backtest/0000000000000000/0000000000000000';
const RULE_ARN = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/backtest/0000000000000000/0000000000000000/0000000000000000';
const TARGET_GROUP_ARNS: Readonly<Record<string, string>> = {
  [ON_DEMAND_GROUP]: 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/on-demand/0000000000000001',
  [SPOT_GROUP]: 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/spot/0000000000000002',
};
export const DEFAULT_SPOT_SHARE = 0.5;
/**
 * One interruption every 6 hours on average: a stress test far above real
 * rates (most pools are under 5 % a month in AWS's Spot Instance Advisor), so
 * a week of trace shows a few dozen.
 */
export const DEFAULT_MEAN_MINUTES_BETWEEN_INTERRUPTIONS = 360;

export interface SpotScenarioOptions {
  readonly grid: MinuteGrid;
  readonly scenario: Scenario;
  /** The policy whose fleet is split, and its desired nodes per scored minute. */
  readonly policy: string;
  readonly desired: ArrayLike<number>;
  readonly seed: number;
  /** Share of the fleet on spot, in [0, 1]. */
  readonly spotShare: number;
  readonly meanMinutesBetweenInterruptions?: number;
  readonly createStateStore: () => StateStore;
}

export interface SpotInterruptionOutcome {
  readonly noticeMinute: number;
  readonly reclaimMinute: number;
  /** Spot nodes the notice found alive (0 when the group was empty then). */
  readonly nodes: number;
}

export interface SpotScenarioRun {
  readonly policy: string;
  readonly seed: number;
  readonly spotShare: number;
  readonly meanMinutesBetweenInterruptions: number;
  readonly startMinute: number;
  /** Target group names in rule order (on-demand, spot): the columns of weights.csv. */
  readonly targetGroups: readonly string[];
  /** Per target group, the weight after each scored minute's reweight run. */
  readonly weights: readonly Int32Array[];
  readonly interruptions: readonly SpotInterruptionOutcome[];
  /** Minutes in which a group with draining targets and no healthy one still had weight after the run. */
  readonly minutesWithTrafficOnDrainingGroup: number;
  /** ModifyRule calls the reweight runs made. */
  readonly weightChanges: number;
}

/** Spot gets ⌊desired × F⌋ (a fraction of a node stays on-demand, as policy.spotShare places pods); 1e-9 absorbs 0.57 × 100 = 56.99…. */
export function splitNodes(desired: number, spotShare: number): { readonly onDemand: number; readonly spot: number } {
  const spot = Math.min(desired, Math.max(0, Math.floor(desired * spotShare + 1e-9)));
  return { onDemand: desired - spot, spot };
}

/** Live nodes of one group, oldest first: BACKTEST.md's boot delay and newest-first scale-in, plus interruption notices. */
export class NodePool {
  private nodes: { launchMinute: number; interruption: number | undefined }[] = [];

  constructor(
    readonly bootMinutes: number,
    initialReadyNodes: number,
  ) {
    for (let i = 0; i < initialReadyNodes; i++) this.nodes.push({ launchMinute: Number.NEGATIVE_INFINITY, interruption: undefined });
  }

  get aliveNodes(): number {
    return this.nodes.length;
  }

  setDesired(minute: number, desiredNodes: number): void {
    while (this.nodes.length < desiredNodes) this.nodes.push({ launchMinute: minute, interruption: undefined });
    if (this.nodes.length > desiredNodes) this.nodes.length = Math.max(0, desiredNodes);
  }

  /** Marks up to `count` live nodes not yet noticed, oldest first; returns how many. */
  notice(interruption: number, count: number): number {
    let marked = 0;
    for (const node of this.nodes) {
      if (marked >= count) break;
      if (node.interruption !== undefined) continue;
      node.interruption = interruption;
      marked++;
    }
    return marked;
  }

  /** Removes the nodes `interruption` noticed (those scale-in has not taken already). */
  reclaim(interruption: number): void {
    this.nodes = this.nodes.filter((node) => node.interruption !== interruption);
  }

  private isReady(node: { launchMinute: number }, minute: number): boolean {
    return node.launchMinute <= minute - this.bootMinutes;
  }

  readyNodes(minute: number): number {
    return this.nodes.filter((node) => this.isReady(node, minute)).length;
  }

  /** Ready nodes under notice: their targets drain. */
  drainingNodes(minute: number): number {
    return this.nodes.filter((node) => node.interruption !== undefined && this.isReady(node, minute)).length;
  }
}

/** The scenario as the configuration the reweight run reads: two alike node groups, one rule, the default step and hysteresis. */
export function spotScenarioConfig(scenario: Scenario): PrescaleConfig {
  const group = (name: string, capacityType: 'on-demand' | 'spot') => ({
    name,
    instanceTypes: ['m5.large'],
    capacityType,
    minNodes: 0,
    maxNodes: 1_000_000,
    allocatable: { cpu: '1000m', memory: '1Gi', pods: 1 },
    bootMinutes: scenario.bootMinutes,
  });
  return parseConfig(
    {
      version: 1,
      cluster: { name: 'backtest', region: 'us-east-1' },
      nodeGroups: [group(ON_DEMAND_GROUP, 'on-demand'), group(SPOT_GROUP, 'spot')],
      services: [
        {
          name: 'app',
          namespace: 'backtest',
          deployment: 'app',
          requests: { cpu: '1000m', memory: '1Gi' },
          nodeGroups: [SPOT_GROUP, ON_DEMAND_GROUP],
          hpa: { minReplicas: 1, maxReplicas: 1_000_000, metrics: [{ type: 'cpu', targetUtilizationPercent: 70 }] },
          demand: { metric: { namespace: 'Backtest', name: 'Demand', stat: 'Average' }, perPod: scenario.capacityPerNode },
        },
      ],
      albRules: [
        {
          name: 'app',
          listenerArn: LISTENER_ARN,
          ruleArn: RULE_ARN,
          targetGroups: [
            { arn: TARGET_GROUP_ARNS[ON_DEMAND_GROUP], nodeGroup: ON_DEMAND_GROUP },
            { arn: TARGET_GROUP_ARNS[SPOT_GROUP], nodeGroup: SPOT_GROUP },
          ],
        },
      ],
    },
    'spot scenario',
  );
}

function validate(options: SpotScenarioOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) problems.push(`--spot-interruptions must be an integer seed in [0, 4294967295] (got ${options.seed})`);
  if (!(options.spotShare >= 0 && options.spotShare <= 1)) problems.push(`--spot-share must be between 0 and 1 (got ${options.spotShare})`);
  if (problems.length > 0) throw new PrescaleError('validation', problems.join('; '));
}

export async function runSpotScenario(options: SpotScenarioOptions): Promise<SpotScenarioRun> {
  validate(options);
  const { grid, scenario, spotShare } = options;
  const start = scoringStartMinute(scenario);
  const end = grid.demand.length;
  const meanMinutes = options.meanMinutesBetweenInterruptions ?? DEFAULT_MEAN_MINUTES_BETWEEN_INTERRUPTIONS;
  const desiredAt = (minute: number): number => options.desired[minute - start]!;
  let largestSpot = 0;
  for (let minute = start; minute < end; minute++) largestSpot = Math.max(largestSpot, splitNodes(desiredAt(minute), spotShare).spot);
  // A spot group of one instance type loses its pool together, so each interruption takes every spot node alive:
  // the case ALB cannot handle inside the target group (a partly draining group still has healthy targets).
  const plan = planSpotInterruptions({ seed: options.seed, startMinute: start, endMinute: end, meanMinutesBetween: meanMinutes, nodesPerInterruption: { min: Math.max(1, largestSpot), max: Math.max(1, largestSpot) } });

  const initial = splitNodes(initialFleetNodes(grid.demand, scenario), spotShare);
  const pools: Readonly<Record<string, NodePool>> = { [ON_DEMAND_GROUP]: new NodePool(scenario.bootMinutes, initial.onDemand), [SPOT_GROUP]: new NodePool(scenario.bootMinutes, initial.spot) };
  const pool = (name: string): NodePool => {
    const found = pools[name];
    if (found === undefined) throw new PrescaleError('not-found', `node group ${name} not found in the spot scenario`);
    return found;
  };
  let minute = start;
  const clock = new SteppedClock(grid.t0Ms + start * MINUTE_MS);
  const config = spotScenarioConfig(scenario);
  const rule = config.albRules[0]!;
  const traffic = new SimTraffic({
    clock,
    readyNodes: (g) => pool(g).readyNodes(minute),
    bootingNodes: (g) => pool(g).aliveNodes - pool(g).readyNodes(minute),
    drainingNodes: (g) => pool(g).drainingNodes(minute),
  });
  for (const tg of rule.targetGroups) traffic.addTargetGroup({ arn: tg.arn, nodeGroup: tg.nodeGroup });
  const spotWeight = Math.round(100 * spotShare);
  traffic.addRule({
    listenerArn: rule.listenerArn,
    ruleArn: rule.ruleArn,
    weights: [
      { targetGroupArn: TARGET_GROUP_ARNS[ON_DEMAND_GROUP]!, weight: 100 - spotWeight },
      { targetGroupArn: TARGET_GROUP_ARNS[SPOT_GROUP]!, weight: spotWeight },
    ],
  });
  const capacity: CapacityActuator = {
    async describeNodeGroups(_cluster, names): Promise<NodeGroupState[]> {
      return names.map((name) => {
        const p = pool(name);
        const ready = p.readyNodes(minute);
        return { name, status: 'ACTIVE', desiredNodes: p.aliveNodes, minNodes: 0, maxNodes: 1_000_000, readyNodes: ready, bootingNodes: p.aliveNodes - ready };
      });
    },
    async setDesiredNodes() {
      throw new PrescaleError('internal', 'the reweight run must not resize node groups');
    },
  };
  // The rule has no SLO, so the run never asks; a call would be a bug worth seeing.
  const noMetrics = () => new PrescaleError('not-found', 'the spot scenario simulates no ALB metrics');
  const metrics: MetricsSource = {
    async getDemand() {
      throw noMetrics();
    },
    async getDemandMany() {
      throw noMetrics();
    },
  };
  const ports = { clock, traffic, capacity, metrics, state: options.createStateStore() };

  const scored = end - start;
  const weights = rule.targetGroups.map(() => new Int32Array(scored));
  const outcomes: SpotInterruptionOutcome[] = [];
  let trafficOnDraining = 0;
  for (; minute < end; minute++) {
    clock.set(grid.t0Ms + minute * MINUTE_MS);
    plan.forEach((interruption, id) => {
      if (interruption.reclaimMinute === minute) pools[SPOT_GROUP]!.reclaim(id);
    });
    const split = splitNodes(desiredAt(minute), spotShare);
    pools[ON_DEMAND_GROUP]!.setDesired(minute, split.onDemand);
    pools[SPOT_GROUP]!.setDesired(minute, split.spot);
    plan.forEach((interruption, id) => {
      if (interruption.noticeMinute === minute) outcomes.push({ ...interruption, nodes: pools[SPOT_GROUP]!.notice(id, interruption.nodes) });
    });
    await runReweight(config, ports, { actor: 'reweight', runId: `reweight-${minute}` });
    const now = traffic.weights(rule.listenerArn, rule.ruleArn);
    const weightOf = (arn: string): number => now.find((w: TargetGroupWeight) => w.targetGroupArn === arn)?.weight ?? 0;
    let onDraining = false;
    rule.targetGroups.forEach((tg, k) => {
      const weight = weightOf(tg.arn);
      weights[k]![minute - start] = weight;
      const p = pool(tg.nodeGroup);
      const draining = p.drainingNodes(minute);
      if (weight > 0 && draining > 0 && p.readyNodes(minute) - draining === 0) onDraining = true;
    });
    if (onDraining) trafficOnDraining++;
  }
  return {
    policy: options.policy,
    seed: options.seed,
    spotShare,
    meanMinutesBetweenInterruptions: meanMinutes,
    startMinute: start,
    targetGroups: rule.targetGroups.map((tg) => targetGroupName(tg.arn)),
    weights,
    interruptions: outcomes,
    minutesWithTrafficOnDrainingGroup: trafficOnDraining,
    weightChanges: traffic.calls.length,
  };
}

/** `minute,on-demand,spot`, one row per scored minute. */
export function weightsCsv(run: SpotScenarioRun): string {
  const lines = [['minute', ...run.targetGroups].join(',')];
  const minutes = run.weights[0]?.length ?? 0;
  for (let i = 0; i < minutes; i++) lines.push([run.startMinute + i, ...run.weights.map((w) => w[i])].join(','));
  return `${lines.join('\n')}\n`;
}

/** The `traffic` key of summary.json (snake_case, as the rest of the file). */
export function trafficSummary(run: SpotScenarioRun): Record<string, unknown> {
  return {
    policy: run.policy,
    seed: run.seed,
    spot_share: run.spotShare,
    mean_minutes_between_interruptions: run.meanMinutesBetweenInterruptions,
    notice_minutes: SPOT_NOTICE_MINUTES,
    target_groups: [...run.targetGroups],
    interruptions: run.interruptions.map((i) => ({ notice_minute: i.noticeMinute, reclaim_minute: i.reclaimMinute, nodes: i.nodes })),
    minutes_with_traffic_on_draining_group: run.minutesWithTrafficOnDrainingGroup,
    weight_changes: run.weightChanges,
  };
}

export interface SpotBacktestOptions {
  readonly grid: MinuteGrid;
  readonly scenario: Scenario;
  /** The backtest's scored policies; the spot scenario splits predictive's fleet, or the first one's when predictive did not run. */
  readonly results: readonly { readonly policy: string; readonly desired: ArrayLike<number> }[];
  readonly seed: number;
  readonly spotShare: number;
  readonly createStateStore: () => StateStore;
}

export interface SpotBacktestOutput {
  readonly run: SpotScenarioRun;
  /** summary.json's `traffic` key. */
  readonly summary: Record<string, unknown>;
  readonly weightsCsv: string;
  /** report.html with the "ALB weights over time" section added. */
  appendToReport(html: string): string;
}

/** The one call `runBacktest` makes when `--spot-interruptions` is given. */
export async function runSpotBacktest(options: SpotBacktestOptions): Promise<SpotBacktestOutput> {
  const chosen = options.results.find((r) => r.policy === 'predictive') ?? options.results[0];
  if (chosen === undefined) throw new PrescaleError('validation', '--spot-interruptions needs at least one policy to split into on-demand and spot');
  const run = await runSpotScenario({ ...options, policy: chosen.policy, desired: chosen.desired });
  const section = trafficReportHtml(run, options.grid.t0Ms);
  return { run, summary: trafficSummary(run), weightsCsv: weightsCsv(run), appendToReport: (html) => appendReportSection(html, section) };
}
