/**
 * npm run bench:frontier -- --data <dir of traces> [--trace NAME]
 *
 * What issue 4's first target asks on each trace, measured against the
 * yardsticks of lib/sim/yardstick.ts: simple causal forecasters (last value
 * or an exponentially weighted mean, plus z × their recent one-period error)
 * swept over 4 centres × 4 windows × 17 values of z on the very trace they
 * are scored on. Hindsight tuning makes the best of them optimistic, so if
 * none of them meets "cost ≤ reactive's and unserved ≤ half of reactive's
 * with no more launches", the target asks for information a 1-period-ahead
 * forecast of this kind does not have. Numbers, not a test; BACKTEST.md
 * scenario defaults.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTrace, scenarioFor } from '../lib/cli/backtest.ts';
import { runReference } from '../lib/sim/backtest.ts';
import { samplingPeriod } from '../lib/sim/trace.ts';
import { scoreDecisions, type Scores } from '../lib/sim/score.ts';
import { shortfallShareOfWorstPeriods, yardstickPolicy, type YardstickFamily } from '../lib/sim/yardstick.ts';

const { values } = parseArgs({ options: { data: { type: 'string' }, trace: { type: 'string' } } });
if (values.data === undefined) {
  console.error('usage: npm run bench:frontier -- --data <folder with trace CSVs> [--trace NAME]');
  process.exit(2);
}

const ALPHAS = [1, 0.7, 0.5, 0.3];
const WINDOWS_PERIODS = [12, 36, 144, 288];
const WORST_PERIODS = 50;
const ZS = Array.from({ length: 17 }, (_, i) => i * 0.25);

interface Point {
  readonly family: YardstickFamily;
  readonly scores: Scores;
}

const describe = (p: Point, oracleCost: number): string =>
  `α ${p.family.alpha} window ${p.family.windowPeriods} z ${p.family.z}: ${(p.scores.cost / oracleCost).toFixed(3)} × oracle, ${(p.scores.unserved_fraction * 100).toFixed(4)} % unserved, ${p.scores.launches} launches`;

const dir = values.data;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.csv') && (values.trace === undefined || f.includes(values.trace))).sort()) {
  const began = performance.now();
  const grid = loadTrace(join(dir, file));
  const scenario = scenarioFor(grid, { capacity: undefined, bootMinutes: 3, usdPerNodeHour: 0.192, warmupDays: 7 });
  const oracle = runReference('oracle', grid, scenario).scores;
  const reactiveRun = runReference('reactive', grid, scenario);
  const reactive = reactiveRun.scores;
  const periods = samplingPeriod(grid);
  const points: Point[] = [];
  for (const alpha of ALPHAS) {
    for (const windowPeriods of WINDOWS_PERIODS) {
      for (const z of ZS) {
        const family = { alpha, windowPeriods, z };
        points.push({ family, scores: scoreDecisions(grid.demand, yardstickPolicy(grid.demand, scenario, periods, family), scenario) });
      }
    }
  }
  const churnOk = points.filter((p) => p.scores.launches <= reactive.launches);
  const halfReactive = reactive.unserved_fraction / 2;
  const withinCost = churnOk.filter((p) => p.scores.cost <= reactive.cost).sort((a, b) => a.scores.unserved_fraction - b.scores.unserved_fraction);
  const withinUnserved = churnOk.filter((p) => p.scores.unserved_fraction <= halfReactive).sort((a, b) => a.scores.cost - b.scores.cost);
  const dominating = withinCost.filter((p) => p.scores.unserved_fraction <= halfReactive);
  console.log(`\n${file} (${periods.periodMinutes}-minute periods, ${points.length} yardsticks, ${((performance.now() - began) / 1000).toFixed(1)} s)`);
  console.log(`  reactive: ${(reactive.cost / oracle.cost).toFixed(3)} × oracle, ${(reactive.unserved_fraction * 100).toFixed(4)} % unserved, ${reactive.launches} launches; the target is ≤ ${(halfReactive * 100).toFixed(4)} % at ≤ its cost`);
  const worst = shortfallShareOfWorstPeriods(grid.demand, reactiveRun.readyNodes, scenario, periods, WORST_PERIODS);
  console.log(`  reactive's shortfall: ${(worst.share * 100).toFixed(1)} % of it in its worst ${WORST_PERIODS} of ${worst.periodsShort} periods short`);
  console.log(`  least unserved at ≤ reactive's cost and launches: ${withinCost[0] === undefined ? 'none' : describe(withinCost[0], oracle.cost)}`);
  console.log(`  cheapest at ≤ half reactive's unserved, ≤ its launches: ${withinUnserved[0] === undefined ? 'none' : describe(withinUnserved[0], oracle.cost)}`);
  console.log(`  yardsticks meeting the target: ${dominating.length} of ${points.length}`);
}
