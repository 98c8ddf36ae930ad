import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Command, GuardVerdict, ScaleNodeGroupCommand } from '../../../lib/core/commands.ts';
import {
  affordableNodes,
  guardBudget,
  isValidOverride,
  projectedMonthEndUsd,
  type BudgetGuardInput,
  type BudgetNodeGroup,
} from '../../../lib/core/budget/guard.ts';

function scale(nodeGroup: string, fromNodes: number, toNodes: number): ScaleNodeGroupCommand {
  return { kind: 'scale-node-group', cluster: 'c', nodeGroup, fromNodes, toNodes, reason: 'test' };
}

const hpaFloor: Command = { kind: 'set-hpa-floor', cluster: 'c', namespace: 'debate', service: 'gateway', fromMinReplicas: 3, toMinReplicas: 6, reason: 'test' };

/**
 * The fleet every table case starts from:
 *   general 10 × $0.10 = $1.00/h, compute 2 × $0.40 = $0.80/h, memory 5 × $0.20 = $1.00/h → $2.80/h.
 * With MTD $400 and 100 h left: projected $400 + $2.80 × 100 = $680 of the $1,000 cap (68 %).
 */
const fleet: Record<string, BudgetNodeGroup> = {
  general: { usdPerHour: 0.1, currentNodes: 10 },
  compute: { usdPerHour: 0.4, currentNodes: 2 },
  memory: { usdPerHour: 0.2, currentNodes: 5 },
};

const base: BudgetGuardInput = {
  commands: [],
  nodeGroups: fleet,
  monthToDateUsd: 400,
  hoursLeftInMonth: 100,
  budget: { monthlyUsd: 1000, hourlyUsd: undefined, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 10, projectedSpendPercent: 90 } },
  override: undefined,
};

function withBudget(patch: Partial<BudgetGuardInput['budget']>): Pick<BudgetGuardInput, 'budget'> {
  return { budget: { ...base.budget, ...patch } };
}

describe('guardBudget: one command', () => {
  it.each<[string, Partial<BudgetGuardInput>, Command, GuardVerdict, number | undefined, RegExp]>([
    // +2 × 0.10 = +0.20/h → 3.00/h → 400 + 300 = 700 (70 %); +20 % capacity; +$0.20/h < $10 → allow
    ['allows a small scale-out within budget', {}, scale('general', 10, 12), 'allow', 12, /projected month-end \$700\.00/],
    ['allows a hold', {}, scale('general', 10, 10), 'allow', 10, /holds at 10/],
    // 6 × 0.10 = 0.60 saved
    ['allows a scale-in', {}, scale('general', 10, 4), 'allow', 4, /saves \$0\.60\/h/],
    // MTD 800: 800 + 280 = 1080 > 1000 even before the plan, yet scale-in passes
    ['allows a scale-in even over budget', { monthToDateUsd: 800 }, scale('compute', 2, 1), 'allow', 1, /never blocked/],
    ['allows commands without a direct cost', {}, hpaFloor, 'allow', undefined, /no direct cost/],
    // MTD 800: 800 + 2.90 × 100 = 1090 > 1000, not one node fits
    ['denies a scale-out when already over the cap', { monthToDateUsd: 800 }, scale('general', 10, 11), 'deny', undefined, /not one more node fits/],
    // room 1000 − (600 + 280) = 120; a general node costs 0.10 × 100 = 10 → 12 fit: 10 → 22 (of 30);
    // 2.80 + 1.20 = 4.00/h → 600 + 400 = 1000 (100 % ≥ 90 %) and +120 % ≥ 50 % → approval of the clamped command
    ['clamps to the monthly cap and asks for approval', { monthToDateUsd: 600 }, scale('general', 10, 30), 'needs-approval', 22, /capacity \+120 %.*projected month-end \$1,000\.00 is 100 %/],
    // hourly room 3.00 − 2.80 = 0.20 → 2 nodes: 10 → 12 (of 14); 3.00/h → 700 (70 %), +20 %, +$0.20/h → clamp only
    ['clamps to the hourly cap', withBudget({ hourlyUsd: 3 }), scale('general', 10, 14), 'clamp', 12, /largest affordable capacity \(12 of 14 nodes\).*hourly cap \$3\.00\/h/],
    ['denies when the hourly cap leaves no room', withBudget({ hourlyUsd: 2.8 }), scale('general', 10, 11), 'deny', undefined, /hourly cap \$2\.80\/h/],
    // 2 → 3 is +50 % ≥ 50 %
    ['asks for approval at the capacity change threshold', {}, scale('compute', 2, 3), 'needs-approval', 3, /capacity \+50 % \(2→3 nodes\) ≥ 50 %/],
    // 2 → 2.. a group at 0 counts as 1: 0 → 1 is +100 %
    ['counts a group starting from 0 as a large change', { nodeGroups: { ...fleet, spot: { usdPerHour: 0.04, currentNodes: 0 } } }, scale('spot', 0, 1), 'needs-approval', 1, /capacity \+100 %/],
    // +2 × 0.10 = +0.20/h ≥ 0.15
    ['asks for approval at the cost change threshold', withBudget({ approval: { ...base.budget.approval, costChangeUsdPerHour: 0.15 } }), scale('general', 10, 12), 'needs-approval', 12, /cost \+\$0\.20\/h ≥ \$0\.15\/h/],
    // MTD 600: +1 → 2.90/h → 600 + 290 = 890 (89 %) < 90 %
    ['allows just under the projected-spend threshold', { monthToDateUsd: 600 }, scale('general', 10, 11), 'allow', 11, /\$890\.00/],
    // +2 → 3.00/h → 600 + 300 = 900 (90 %) ≥ 90 %
    ['asks for approval at the projected-spend threshold', { monthToDateUsd: 600 }, scale('general', 10, 12), 'needs-approval', 12, /is 90 % of the \$1,000\.00 cap ≥ 90 %/],
    // MTD 800 is over the cap, but the override has a reason: allowed and flagged
    ['lets an emergency override with a reason through', { monthToDateUsd: 800, override: { reason: 'incident 42: traffic spike', by: 'alice' } }, scale('general', 10, 20), 'allow', 20, /override by alice \("incident 42: traffic spike"\), ABOVE THE BUDGET CAP/],
    ['ignores an override without a reason', { monthToDateUsd: 800, override: { reason: '  ', by: 'alice' } }, scale('general', 10, 11), 'deny', undefined, /override ignored/],
    ['denies a scale-out of a group it cannot price', {}, scale('gpu', 0, 2), 'deny', undefined, /"gpu" has no price/],
  ])('%s', (_name, patch, command, verdict, effectiveNodes, reason) => {
    const [guarded] = guardBudget({ ...base, ...patch, commands: [command] }).guarded;
    expect(guarded?.verdict).toBe(verdict);
    expect(guarded?.reason).toMatch(reason);
    if (effectiveNodes === undefined) {
      if (verdict === 'deny') expect(guarded?.effective).toBeUndefined();
    } else {
      expect(guarded?.effective?.kind === 'scale-node-group' ? guarded.effective.toNodes : undefined).toBe(effectiveNodes);
    }
  });
});

describe('guardBudget: whole plans', () => {
  it('credits scale-ins before any scale-out, whatever the order', () => {
    // MTD 700, projectedSpendPercent 100 so only the cap decides:
    // alone, general 10 → 13 needs 3.10/h → 700 + 310 = 1010 > 1000: room 20 → 2 nodes, clamped to 12 (= 1000, 100 % → approval).
    // with memory 5 → 3 first (−0.40/h → 2.40/h), general 10 → 13 gives 2.70/h → 970 < 1000 → allow.
    const patch = { monthToDateUsd: 700, ...withBudget({ approval: { ...base.budget.approval, projectedSpendPercent: 100 } }) };
    const alone = guardBudget({ ...base, ...patch, commands: [scale('general', 10, 13)] }).guarded;
    expect(alone.map((g) => g.verdict)).toEqual(['needs-approval']);
    const together = guardBudget({ ...base, ...patch, commands: [scale('general', 10, 13), scale('memory', 5, 3)] }).guarded;
    expect(together.map((g) => [g.command.kind === 'scale-node-group' && g.command.nodeGroup, g.verdict])).toEqual([
      ['general', 'allow'],
      ['memory', 'allow'],
    ]);
  });

  it('shares the room between scale-outs in sorted order, not input order', () => {
    // MTD 600: room 1000 − 880 = 120. compute (sorts first) 2 → 3 costs 0.40 × 100 = 40 → room 80;
    // general 10 → 20 wants 100 → 80 / 10 = 8 nodes → 18. Projected 600 + (2.80 + 0.40 + 0.80) × 100 = 1000.
    const commands = [scale('general', 10, 20), scale('compute', 2, 3)];
    const forward = guardBudget({ ...base, monthToDateUsd: 600, commands });
    const backward = guardBudget({ ...base, monthToDateUsd: 600, commands: [...commands].reverse() });
    expect(forward).toEqual(backward);
    expect(forward.guarded.map((g) => (g.effective?.kind === 'scale-node-group' ? g.effective.toNodes : undefined))).toEqual([3, 18]);
    expect(forward.runRateAfterUsdPerHour).toBeCloseTo(4.0, 9);
    expect(forward.projectedMonthEndAfterUsd).toBeCloseTo(1000, 9);
  });

  it('counts a needs-approval command as committed so approving it later stays under the cap', () => {
    // compute 2 → 4: +0.80/h, +100 % → approval, but its 80 USD of room is reserved:
    // MTD 600: room 120 − 80 = 40 → general 10 → 20 gets 4 nodes (10 → 14).
    const guarded = guardBudget({ ...base, monthToDateUsd: 600, commands: [scale('general', 10, 20), scale('compute', 2, 4)] }).guarded;
    expect(guarded.map((g) => g.verdict)).toEqual(['needs-approval', 'needs-approval']);
    expect(guarded[1]?.effective).toMatchObject({ toNodes: 14 });
  });
});

describe('affordableNodes', () => {
  it.each<[string, number, number, number, Partial<BudgetGuardInput>, number]>([
    // room 1000 − 680 = 320 / (0.10 × 100) = 32
    ['monthly room', 100, 0.1, 2.8, {}, 32],
    ['never more than wanted', 5, 0.1, 2.8, {}, 5],
    // 0.1 × 3 = 0.30000000000000004: closed form must not round a node in or out
    ['floating point at the boundary', 10, 0.1, 2.7, { monthToDateUsd: 700 }, 3],
    // 0 hours left: projected = MTD = 400 ≤ 1000, any node fits the monthly cap
    ['no hours left, under the cap', 7, 0.1, 2.8, { hoursLeftInMonth: 0 }, 7],
    ['no hours left, over the cap', 7, 0.1, 2.8, { hoursLeftInMonth: 0, monthToDateUsd: 1001 }, 0],
  ])('%s', (_name, wanted, usdPerHour, runRate, patch, expected) => {
    expect(affordableNodes(wanted, usdPerHour, runRate, { ...base, ...patch })).toBe(expected);
  });
});

describe('isValidOverride', () => {
  it.each<[string, BudgetGuardInput['override'], boolean]>([
    ['absent', undefined, false],
    ['empty reason', { reason: '', by: 'alice' }, false],
    ['blank reason', { reason: ' \t', by: 'alice' }, false],
    ['no requester', { reason: 'incident', by: '' }, false],
    ['reason and requester', { reason: 'incident', by: 'alice' }, true],
  ])('%s', (_name, override, expected) => expect(isValidOverride(override)).toBe(expected));
});

// ---------------------------------------------------------------- properties

const groupNames = ['a', 'b', 'c', 'd'] as const;

const scenario = fc
  .record({
    groups: fc.uniqueArray(fc.constantFrom(...groupNames), { minLength: 1, maxLength: 4 }),
    prices: fc.array(fc.double({ min: 0.005, max: 8, noNaN: true }), { minLength: 4, maxLength: 4 }),
    current: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 4, maxLength: 4 }),
    targets: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 4, maxLength: 4 }),
    monthToDateUsd: fc.double({ min: 0, max: 5000, noNaN: true }),
    hoursLeftInMonth: fc.double({ min: 0, max: 744, noNaN: true }),
    monthlyUsd: fc.double({ min: 1, max: 6000, noNaN: true }),
    hourlyUsd: fc.option(fc.double({ min: 0.01, max: 50, noNaN: true }), { nil: undefined }),
    capacityChangePercent: fc.double({ min: 1, max: 500, noNaN: true }),
    costChangeUsdPerHour: fc.double({ min: 0.01, max: 50, noNaN: true }),
    projectedSpendPercent: fc.double({ min: 1, max: 100, noNaN: true }),
  })
  .map((s): BudgetGuardInput => {
    const nodeGroups: Record<string, BudgetNodeGroup> = {};
    groupNames.forEach((name, i) => (nodeGroups[name] = { usdPerHour: s.prices[i] as number, currentNodes: s.current[i] as number }));
    const commands = s.groups.map((name) => {
      const i = groupNames.indexOf(name);
      return scale(name, s.current[i] as number, s.targets[i] as number);
    });
    return {
      commands,
      nodeGroups,
      monthToDateUsd: s.monthToDateUsd,
      hoursLeftInMonth: s.hoursLeftInMonth,
      budget: {
        monthlyUsd: s.monthlyUsd,
        hourlyUsd: s.hourlyUsd,
        approval: { capacityChangePercent: s.capacityChangePercent, costChangeUsdPerHour: s.costChangeUsdPerHour, projectedSpendPercent: s.projectedSpendPercent },
      },
      override: undefined,
    };
  });

/** The fleet after every command that may run (allow, clamp, and needs-approval if approved). */
function nodesAfter(input: BudgetGuardInput, verdicts: readonly GuardVerdict[] = ['allow', 'clamp', 'needs-approval']): Map<string, number> {
  const nodes = new Map(Object.entries(input.nodeGroups).map(([name, g]) => [name, g.currentNodes]));
  for (const g of guardBudget(input).guarded) {
    if (verdicts.includes(g.verdict) && g.effective?.kind === 'scale-node-group') nodes.set(g.effective.nodeGroup, g.effective.toNodes);
  }
  return nodes;
}

function runRate(input: BudgetGuardInput, nodes: ReadonlyMap<string, number>): number {
  return Object.entries(input.nodeGroups).reduce((sum, [name, g]) => sum + (nodes.get(name) ?? 0) * g.usdPerHour, 0);
}

describe('properties', () => {
  it('no plan the guard lets run pushes projected spend above the cap without an override', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        // Scale-ins alone may leave the fleet over the cap (they are never blocked); scale-outs never add to that.
        const scaleInsOnly = new Map(Object.entries(input.nodeGroups).map(([name, g]) => [name, g.currentNodes]));
        for (const c of input.commands) if (c.kind === 'scale-node-group' && c.toNodes < c.fromNodes) scaleInsOnly.set(c.nodeGroup, c.toNodes);
        const floorRate = runRate(input, scaleInsOnly);
        for (const verdicts of [['allow', 'clamp'], ['allow', 'clamp', 'needs-approval']] as const) {
          const nodes = nodesAfter(input, verdicts);
          const rate = runRate(input, nodes);
          const added = [...nodes].some(([name, n]) => n > (scaleInsOnly.get(name) ?? 0));
          if (!added) continue;
          expect(projectedMonthEndUsd(input.monthToDateUsd, rate, input.hoursLeftInMonth)).toBeLessThanOrEqual(input.budget.monthlyUsd + 1e-6);
          if (input.budget.hourlyUsd !== undefined) expect(rate).toBeLessThanOrEqual(input.budget.hourlyUsd + 1e-6);
          expect(rate).toBeGreaterThanOrEqual(floorRate - 1e-9);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('clamps to the largest affordable capacity: one more node would break a cap', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const guarded = guardBudget(input).guarded;
        const nodes = nodesAfter(input);
        for (const g of guarded) {
          if (g.effective?.kind !== 'scale-node-group' || g.command.kind !== 'scale-node-group') continue;
          if (g.effective.toNodes >= g.command.toNodes) continue;
          const price = input.nodeGroups[g.command.nodeGroup]?.usdPerHour ?? 0;
          // Only the last clamped command sees the final fleet; test it against the final run-rate plus one node.
          const rate = runRate(input, nodes) + price;
          const overMonthly = projectedMonthEndUsd(input.monthToDateUsd, rate, input.hoursLeftInMonth) > input.budget.monthlyUsd - 1e-6;
          const overHourly = input.budget.hourlyUsd !== undefined && rate > input.budget.hourlyUsd - 1e-6;
          expect(overMonthly || overHourly).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never blocks a scale-in or a hold, with or without an override', () => {
    fc.assert(
      fc.property(scenario, fc.option(fc.record({ reason: fc.string(), by: fc.string() }), { nil: undefined }), (input, override) => {
        for (const g of guardBudget({ ...input, override }).guarded) {
          if (g.command.kind === 'scale-node-group' && g.command.toNodes <= g.command.fromNodes) {
            expect(g.verdict).toBe('allow');
            expect(g.effective).toEqual(g.command);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: sorted output, independent of input order', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const forward = guardBudget(input);
        const reversed = guardBudget({ ...input, commands: [...input.commands].reverse() });
        expect(reversed).toEqual(forward);
        const names = forward.guarded.map((g) => (g.command.kind === 'scale-node-group' ? g.command.nodeGroup : ''));
        expect(names).toEqual([...names].sort());
      }),
      { numRuns: 200 },
    );
  });

  it('with a valid override, every command runs as planned', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        for (const g of guardBudget({ ...input, override: { reason: 'incident', by: 'oncall' } }).guarded) {
          expect(g.verdict).toBe('allow');
          expect(g.effective).toEqual(g.command);
        }
      }),
      { numRuns: 100 },
    );
  });
});
