/**
 * npm run bench:backtest -- --data <dir of traces> [--out DIR] [--service-level Q] [--metric-stat Average|Sum] [--synthetic-days N] [--varied] [--shadow-reactive K]
 *
 * Backtests every `*.csv` trace in the folder with every policy under the
 * BACKTEST.md defaults and prints trace × policy × cost/oracle, unserved %,
 * violation minutes, launches, with wall time. Numbers, not a test.
 *
 * --synthetic-days N adds a seeded N-day trace sampled every minute (the
 * speed target is two months of 1-minute steps, ~85 000 minutes, in ≤ 60 s);
 * it runs without --data too.
 *
 * --varied adds nine seeded synthetic traces of shapes the shared ones
 * lack (bench/synthetic-traces.ts: growth, a level shift, a nightly batch, low
 * Poisson counts, hourly sampling, office hours, a random walk, missing
 * samples, Pareto-sized bursts); it runs without --data too.
 *
 * --metric-stat Sum has predictive read demand as a settled CloudWatch Sum
 * (each period once it has ended and settled a minute); the default Average
 * is BACKTEST.md's gauge, known within its period.
 *
 * --shadow-reactive K adds an experiment row, `predictive@shadow-K`: the
 * service level steered online so unserved demand tracks K × what the
 * reactive baseline leaves (lib/sim/shadow-steer.ts). Not a product mode.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICY_NAMES, runPredictive, runReference, scorePolicy } from '../lib/sim/backtest.ts';
import { loadTrace, parseMetricStat, runBacktest, scenarioFor } from '../lib/cli/backtest.ts';
import { createForecaster } from '../lib/core/forecast/index.ts';
import { createShadowSteer } from '../lib/sim/shadow-steer.ts';
import { scoringStartMinute } from '../lib/sim/score.ts';
import { createMemoryStateStore } from '../lib/state/memory.ts';
import { syntheticMinuteTraceCsv, variedTraces } from './synthetic-traces.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string', default: 'out/bench-backtest' },
    'service-level': { type: 'string' },
    'metric-stat': { type: 'string' },
    trace: { type: 'string' },
    'synthetic-days': { type: 'string' },
    varied: { type: 'boolean', default: false },
    'shadow-reactive': { type: 'string' },
  },
});
const shadowRatio = values['shadow-reactive'] === undefined ? undefined : Number(values['shadow-reactive']);
if (shadowRatio !== undefined && !(shadowRatio > 0)) {
  console.error(`--shadow-reactive must be a ratio > 0; got ${values['shadow-reactive']}`);
  process.exit(2);
}
const metricStat = parseMetricStat(values['metric-stat']);
if (values.data === undefined && values['synthetic-days'] === undefined && !values.varied) {
  console.error('usage: npm run bench:backtest -- --data <folder with trace CSVs> [--trace NAME] [--out DIR] [--synthetic-days N] [--varied]');
  process.exit(2);
}

const traces: { name: string; path: string }[] = [];
if (values.data !== undefined) {
  const dir = values.data;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.csv') && (values.trace === undefined || f.includes(values.trace))).sort()) traces.push({ name: f, path: join(dir, f) });
}
if (values['synthetic-days'] !== undefined) {
  const days = Number(values['synthetic-days']);
  if (!Number.isInteger(days) || days < 8) {
    console.error(`--synthetic-days must be an integer ≥ 8 (7 days of warm-up + at least one scored day); got ${values['synthetic-days']}`);
    process.exit(2);
  }
  const dir = join(values.out, 'synthetic');
  mkdirSync(dir, { recursive: true });
  const name = `synthetic-1min-${days}d.csv`;
  writeFileSync(join(dir, name), syntheticMinuteTraceCsv(days));
  traces.push({ name, path: join(dir, name) });
}
if (values.varied) {
  const dir = join(values.out, 'varied');
  mkdirSync(dir, { recursive: true });
  for (const { name, csv } of variedTraces()) {
    if (values.trace !== undefined && !name.includes(values.trace)) continue;
    writeFileSync(join(dir, `${name}.csv`), csv());
    traces.push({ name: `${name}.csv`, path: join(dir, `${name}.csv`) });
  }
}
const rows: string[][] = [['trace', 'policy', 'cost/oracle', 'unserved %', 'violation min', 'launches', 'actions', 'wall s']];
for (const { name: trace, path } of traces) {
  const began = performance.now();
  const output = await runBacktest({
    tracePath: path,
    outDir: join(values.out, trace.replace(/\.csv$/, '')),
    policies: [...POLICY_NAMES],
    capacity: undefined,
    bootMinutes: 3,
    usdPerNodeHour: 0.192,
    warmupDays: 7,
    serviceLevel: values['service-level'] === undefined ? undefined : Number(values['service-level']),
    metricStat,
    paretoLevels: [],
    progress: false,
  });
  const wall = ((performance.now() - began) / 1000).toFixed(1);
  const oracle = output.results.find((r) => r.policy === 'oracle')!.scores.cost;
  for (const r of output.results) {
    rows.push([trace, r.policy, (r.scores.cost / oracle).toFixed(3), (r.scores.unserved_fraction * 100).toFixed(4), String(r.scores.violation_minutes), String(r.scores.launches), String(r.scores.actions), r.policy === 'predictive' ? wall : '']);
  }
  if (shadowRatio !== undefined) {
    const grid = loadTrace(path);
    const scenario = scenarioFor(grid, { capacity: undefined, bootMinutes: 3, usdPerNodeHour: 0.192, warmupDays: 7 });
    const steer = createShadowSteer({
      demand: grid.demand,
      shadowReadyNodes: runReference('reactive', grid, scenario).readyNodes,
      capacityPerNode: scenario.capacityPerNode,
      startMinute: scoringStartMinute(scenario),
      ratio: shadowRatio,
      gain: 0.05,
      initialLevel: 0.9,
    });
    const shadowBegan = performance.now();
    // The steer alone: the cost ceiling would steer the same level a second way.
    const knobs = { metricStat, policy: { costCeiling: 'off' } };
    const run = await runPredictive({ grid, scenario, forecaster: createForecaster(), createStateStore: createMemoryStateStore, knobs, steerServiceLevel: steer });
    const s = scorePolicy('predictive', grid.demand, run.desired, scenario).scores;
    const shadowWall = ((performance.now() - shadowBegan) / 1000).toFixed(1);
    rows.push([trace, `predictive@shadow-${shadowRatio}`, (s.cost / oracle).toFixed(3), (s.unserved_fraction * 100).toFixed(4), String(s.violation_minutes), String(s.launches), String(s.actions), shadowWall]);
  }
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const row of rows) console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
