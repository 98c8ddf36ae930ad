import { describe, expect, it } from 'vitest';
import type { GuardedCommand, ScaleNodeGroupCommand } from '../../../lib/core/commands.ts';
import { applyBudgetGuard, budgetGuardInputFor, priceProblems } from '../../../lib/core/budget/input.ts';
import { accrue, emptyLedger } from '../../../lib/core/budget/ledger.ts';
import type { PriceTable } from '../../../lib/core/budget/prices.ts';
import type { NodeGroupConfig } from '../../../lib/config/schema.ts';

const table: PriceTable = {
  source: 'test',
  asOf: '2024-06-01',
  currency: 'USD',
  onDemandUsdPerHour: { 'us-east-1': { 'm5.large': 0.1, 'c5.2xlarge': 0.4 } },
  spotPriceRatio: { byFamily: { m5: 0.4 }, byRegion: {} },
};

const nodeGroup = (name: string, instanceTypes: string[], minNodes: number): NodeGroupConfig => ({
  name,
  type: 'eks-managed',
  instanceTypes,
  capacityType: 'on-demand',
  minNodes,
  maxNodes: 50,
  allocatable: { cpuMillicores: 1900, memoryMiB: 7000, pods: 29 },
  bootMinutes: 3,
  labels: {},
  taints: [],
});

const config = {
  cluster: { name: 'c', region: 'us-east-1' },
  nodeGroups: [nodeGroup('general', ['m5.large'], 3), nodeGroup('compute', ['c5.2xlarge'], 1)],
  budget: { monthlyUsd: 1000, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 10, projectedSpendPercent: 90 }, alertPercents: [50, 80, 100] },
};

const JUNE_10 = Date.UTC(2024, 5, 10, 12);
const scale = (nodeGroupName: string, fromNodes: number, toNodes: number): ScaleNodeGroupCommand => ({ kind: 'scale-node-group', cluster: 'c', nodeGroup: nodeGroupName, fromNodes, toNodes, reason: 'r' });

describe('budgetGuardInputFor', () => {
  it('prices the fleet, reads MTD from the ledger and hours left from the clock', () => {
    // ledger: 10 nodes × 10 h × $0.10 = $10 in June
    const ledger = accrue(emptyLedger, { nodeGroup: 'general', nodes: 10, usdPerHour: 0.1, fromMs: JUNE_10 - 10 * 3_600_000, toMs: JUNE_10 });
    const input = budgetGuardInputFor({ config, desiredNodes: { general: 10 }, ledger, nowMs: JUNE_10, priceTable: table, commands: [] });
    expect(input).toMatchObject({
      nodeGroups: { general: { usdPerHour: 0.1, currentNodes: 10 }, compute: { usdPerHour: 0.4, currentNodes: 1 } },
      hoursLeftInMonth: 492,
    });
    expect(input?.monthToDateUsd).toBeCloseTo(10, 9);
  });

  it('is undefined without a budget', () => {
    expect(budgetGuardInputFor({ config: { ...config, budget: undefined }, desiredNodes: {}, ledger: emptyLedger, nowMs: JUNE_10, priceTable: table, commands: [] })).toBeUndefined();
  });

  it('reports unpriced groups as config problems', () => {
    expect(priceProblems({ ...config, nodeGroups: [...config.nodeGroups, nodeGroup('gpu', ['g5.xlarge'], 0)] }, table)).toEqual([
      'nodeGroups[2] node group "gpu": no on-demand price for g5.xlarge in us-east-1 in the price table of 2024-06-01; set nodeGroups[].usdPerHour or run `prescale prices refresh`',
    ]);
  });
});

describe('applyBudgetGuard', () => {
  // fleet: general 10 × 0.10 + compute 1 × 0.40 = 1.40/h; MTD 800, 100 h: 800 + 140 = 940; room 60
  const budget = {
    nodeGroups: { general: { usdPerHour: 0.1, currentNodes: 10 }, compute: { usdPerHour: 0.4, currentNodes: 1 } },
    monthToDateUsd: 800,
    hoursLeftInMonth: 100,
    budget: { ...config.budget, hourlyUsd: undefined, approval: { ...config.budget.approval, projectedSpendPercent: 100 } },
  };

  it('keeps bound denials, checks bound clamps against the budget, and sorts', () => {
    const clampedByBounds = scale('general', 10, 60);
    const bounded: GuardedCommand[] = [
      // bounds clamped 60 → 50; budget: room 60 / (0.10 × 100) = 6 nodes → 16; +60 % ≥ 50 % → needs-approval
      { command: clampedByBounds, verdict: 'clamp', effective: { ...clampedByBounds, toNodes: 50 }, reason: '60 is outside [3, 50]: clamped to 50' },
      { command: scale('compute', 1, 0), verdict: 'deny', effective: undefined, reason: 'bounds said no' },
    ];
    const { guarded: merged, projectedMonthEndAfterUsd } = applyBudgetGuard(bounded, budget);
    expect(merged.map((g) => [g.command.kind === 'scale-node-group' && g.command.nodeGroup, g.verdict, g.effective?.kind === 'scale-node-group' ? g.effective.toNodes : undefined])).toEqual([
      ['compute', 'deny', undefined],
      ['general', 'needs-approval', 16],
    ]);
    expect(merged[1]?.reason).toMatch(/^bounds: 60 is outside \[3, 50\]: clamped to 50; budget: needs approval: capacity \+60 %/);
    // The command awaiting approval counts, the bounds denial does not: 1.40 + 6 × 0.10 = 2.00/h; 800 + 2.00 × 100 = 1000
    expect(projectedMonthEndAfterUsd).toBeCloseTo(1000, 9);
  });

  it('projects month-end over every command that may run: allowed ones and those awaiting approval', () => {
    const allowed = scale('general', 10, 12);
    const toApprove = scale('compute', 1, 2);
    const bounded: GuardedCommand[] = [
      { command: allowed, verdict: 'allow', effective: allowed, reason: 'in bounds' },
      { command: toApprove, verdict: 'allow', effective: toApprove, reason: 'in bounds' },
    ];
    // general +2 × 0.10: +20 % < 50 % → allow; compute +1 × 0.40: +100 % ≥ 50 % → needs approval
    // 1.40 + 0.20 + 0.40 = 2.00/h; 800 + 2.00 × 100 = 1000 (cap 2000 here, so nothing is clamped)
    const { guarded, projectedMonthEndAfterUsd } = applyBudgetGuard(bounded, { ...budget, budget: { ...budget.budget, monthlyUsd: 2000 } });
    expect(guarded.map((g) => g.verdict)).toEqual(['needs-approval', 'allow']);
    expect(projectedMonthEndAfterUsd).toBeCloseTo(1000, 9);
  });

  it('a bounds clamp the budget allows stays a clamp', () => {
    const command = scale('general', 10, 60);
    // bounds 60 → 12: +2 × 0.10 × 100 = 20 ≤ 60 room; +20 %; 960 = 96 % < 100 %
    const { guarded: [merged], projectedMonthEndAfterUsd } = applyBudgetGuard([{ command, verdict: 'clamp', effective: { ...command, toNodes: 12 }, reason: 'clamped to 12' }], budget);
    expect(merged).toMatchObject({ verdict: 'clamp', effective: { toNodes: 12 }, command });
    expect(projectedMonthEndAfterUsd).toBeCloseTo(960, 9);
  });
});
