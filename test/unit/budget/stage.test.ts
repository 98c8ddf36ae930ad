import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/load.ts';
import type { PrescaleConfig } from '../../../lib/config/schema.ts';
import type { GuardedCommand, ScaleNodeGroupCommand } from '../../../lib/core/commands.ts';
import { bundledPriceTable } from '../../../lib/core/budget/prices.ts';
import { budgetStage, type BudgetStageInput } from '../../../lib/pipeline/budget.ts';
import type { NodeGroupState, PlannerMemory } from '../../../lib/ports.ts';

const HOUR = 3_600_000;
const MIN = 60_000;
const JUNE_1 = Date.UTC(2024, 5, 1);
const JUNE_11 = Date.UTC(2024, 5, 11);

function config(monthlyUsd: number): PrescaleConfig {
  return parseConfig({
    version: 1,
    cluster: { name: 'test', region: 'us-east-1' },
    nodeGroups: [{ name: 'web', instanceTypes: ['m5.large'], usdPerHour: 0.1, minNodes: 1, maxNodes: 40, allocatable: { cpu: '2', memory: '8Gi', pods: 20 }, bootMinutes: 3 }],
    services: [
      {
        name: 'api',
        namespace: 'prod',
        deployment: 'api',
        requests: { cpu: '1', memory: '1Gi' },
        nodeGroups: ['web'],
        hpa: { minReplicas: 1, maxReplicas: 80, metrics: [{ type: 'cpu', targetUtilizationPercent: 70 }] },
        demand: { metric: { namespace: 'Test', name: 'Requests', dimensions: {}, stat: 'Average', periodSeconds: 60 }, perPod: 100 },
      },
    ],
    budget: { monthlyUsd },
  });
}

const web = (desiredNodes: number): NodeGroupState => ({ name: 'web', status: 'ACTIVE', desiredNodes, readyNodes: desiredNodes, bootingNodes: 0, minNodes: 1, maxNodes: 40 });
const scale = (fromNodes: number, toNodes: number): ScaleNodeGroupCommand => ({ kind: 'scale-node-group', cluster: 'test', nodeGroup: 'web', fromNodes, toNodes, reason: 'r' });
const emptyMemory: PlannerMemory = { recommendations: {}, raisedFloors: {} };

function stage(nowMs: number, memory: PlannerMemory, options: { nodes?: number; monthlyUsd?: number; bounded?: GuardedCommand[] } = {}) {
  const input: BudgetStageInput = {
    config: config(options.monthlyUsd ?? 1000),
    nowMs,
    nodeGroups: [web(options.nodes ?? 4)],
    memory,
    bounded: options.bounded ?? [],
    priceTable: bundledPriceTable(),
    usdPerHourByGroup: { web: 0.1 },
    override: undefined,
  };
  return budgetStage(input);
}

describe('budgetStage: what the ledger counts', () => {
  it('the first run estimates the month so far at the fleet it finds, and says so in the alert', () => {
    // June 1 → June 11 = 240 h × 4 nodes × $0.10 = $96, all estimated; cap $150 → 64 % → the 50 % alert
    const out = stage(JUNE_11, emptyMemory, { monthlyUsd: 150 });
    expect(out.spend?.monthToDateUsd).toBeCloseTo(96, 9);
    expect(out.spend?.estimatedUsd).toBeCloseTo(96, 9);
    expect(out.ledgerAtMs).toBe(JUNE_11);
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]!.text).toContain('$96.00 of $150.00 spent (64 %) ($96.00 of it estimated');
  });

  it('a run 5 minutes after the last adds 5 observed minutes and no estimate', () => {
    const first = stage(JUNE_11, emptyMemory);
    // 4 nodes × 5 min × $0.10/h = $0.0333…
    const next = stage(JUNE_11 + 5 * MIN, { ...emptyMemory, ledger: first.ledger, ledgerAtMs: first.ledgerAtMs });
    expect(next.spend!.monthToDateUsd - first.spend!.monthToDateUsd).toBeCloseTo((4 * 5 * 0.1) / 60, 9);
    expect(next.spend?.estimatedUsd).toBeCloseTo(96, 9);
  });

  it('a 2 h pause: the last 15 min observed, the 1 h 45 min before it estimated at the fleet found after', () => {
    const first = stage(JUNE_11, emptyMemory);
    // 6 nodes after the pause: 6 × 1.75 h × $0.10 = $1.05 estimated; 6 × 0.25 h × $0.10 = $0.15 observed
    const next = stage(JUNE_11 + 2 * HOUR, { ...emptyMemory, ledger: first.ledger, ledgerAtMs: first.ledgerAtMs }, { nodes: 6 });
    expect(next.spend!.monthToDateUsd - first.spend!.monthToDateUsd).toBeCloseTo(1.2, 9);
    expect(next.spend!.estimatedUsd - first.spend!.estimatedUsd).toBeCloseTo(1.05, 9);
  });

  it('a retried run over the same interval counts it once', () => {
    const first = stage(JUNE_11, emptyMemory);
    const memory = { ...emptyMemory, ledger: first.ledger, ledgerAtMs: JUNE_11 - 10 * MIN };
    expect(stage(JUNE_11, memory).spend?.monthToDateUsd).toBeCloseTo(96, 9);
  });

  it("the alert's month-end is the guard's figure for the fleet as it is, a group not observed at its minimum", () => {
    // web observed at 4 nodes; batch (min 2, $0.50/h) not observed this run: the guard counts it at its minimum.
    const cfg = config(150);
    const withBatch: PrescaleConfig = { ...cfg, nodeGroups: [...cfg.nodeGroups, { ...cfg.nodeGroups[0]!, name: 'batch', minNodes: 2, usdPerHour: 0.5 }] };
    const out = budgetStage({
      config: withBatch,
      nowMs: JUNE_11,
      nodeGroups: [web(4)],
      memory: emptyMemory,
      bounded: [],
      priceTable: bundledPriceTable(),
      usdPerHourByGroup: { batch: 0.5, web: 0.1 },
      override: undefined,
    });
    // Spent (estimated at the fleet found): 240 h × 4 × $0.10 = $96. Run rate as the guard counts it:
    // 4 × $0.10 + 2 × $0.50 = $1.40/h × 480 h left = $672 → $768 (the fleet found alone would say $96 + $192 = $288).
    expect(out.alerts[0]!.text).toContain('projected month-end $768.00');
  });

  it('the month-end if approved is the guard figure: fleet plus every command that may run', () => {
    // 4 → 12 nodes: +200 % → needs approval. June 1 → 11 at 4 nodes: $96; 12 × $0.10 = $1.20/h × 480 h left = $576 → $672
    const command = scale(4, 12);
    const out = stage(JUNE_11, emptyMemory, { bounded: [{ command, verdict: 'allow', effective: command, reason: 'in bounds' }] });
    expect(out.guarded[0]?.verdict).toBe('needs-approval');
    expect(out.spend?.projectedMonthEndIfApprovedUsd).toBeCloseTo(672, 9);
    expect(out.guarded[0]?.reason).toContain('projected month-end $672.00 = MTD $96.00');
  });

  it('without a budget the stage passes the commands through and keeps no ledger', () => {
    const command = scale(4, 12);
    const bounded: GuardedCommand[] = [{ command, verdict: 'allow', effective: command, reason: 'in bounds' }];
    const out = budgetStage({ ...stageInputWithoutBudget(), bounded });
    expect(out).toEqual({ guarded: bounded, spend: undefined, ledger: undefined, ledgerAtMs: undefined, alerts: [] });
  });
});

function stageInputWithoutBudget(): BudgetStageInput {
  const { budget: _budget, ...rest } = config(1000);
  return {
    config: rest as PrescaleConfig,
    nowMs: JUNE_1 + HOUR,
    nodeGroups: [web(4)],
    memory: emptyMemory,
    bounded: [],
    priceTable: bundledPriceTable(),
    usdPerHourByGroup: { web: 0.1 },
    override: undefined,
  };
}
