/**
 * npm run bench:backtest -- --data <dir of traces> [--out DIR] [--service-level Q]
 *
 * Backtests every `*.csv` trace in the folder with every policy under the
 * BACKTEST.md defaults and prints trace × policy × cost/oracle, unserved %,
 * violation minutes, launches, with wall time. Numbers, not a test.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICY_NAMES } from '../lib/sim/backtest.ts';
import { runBacktest } from '../lib/cli/backtest.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string', default: 'out/bench-backtest' },
    'service-level': { type: 'string' },
    trace: { type: 'string' },
  },
});
if (values.data === undefined) {
  console.error('usage: npm run bench:backtest -- --data <folder with trace CSVs> [--trace NAME] [--out DIR]');
  process.exit(2);
}
const traces = readdirSync(values.data)
  .filter((f) => f.endsWith('.csv') && (values.trace === undefined || f.includes(values.trace)))
  .sort();
const rows: string[][] = [['trace', 'policy', 'cost/oracle', 'unserved %', 'violation min', 'launches', 'actions', 'wall s']];
for (const trace of traces) {
  const began = performance.now();
  const output = await runBacktest({
    tracePath: join(values.data, trace),
    outDir: join(values.out, trace.replace(/\.csv$/, '')),
    policies: [...POLICY_NAMES],
    capacity: undefined,
    bootMinutes: 3,
    usdPerNodeHour: 0.192,
    warmupDays: 7,
    serviceLevel: values['service-level'] === undefined ? undefined : Number(values['service-level']),
    paretoLevels: [],
    progress: false,
  });
  const wall = ((performance.now() - began) / 1000).toFixed(1);
  const oracle = output.results.find((r) => r.policy === 'oracle')!.scores.cost;
  for (const r of output.results) {
    rows.push([trace, r.policy, (r.scores.cost / oracle).toFixed(3), (r.scores.unserved_fraction * 100).toFixed(4), String(r.scores.violation_minutes), String(r.scores.launches), String(r.scores.actions), r.policy === 'predictive' ? wall : '']);
  }
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const row of rows) console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
