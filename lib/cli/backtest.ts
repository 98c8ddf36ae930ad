/**
 * `prescale backtest` and `prescale demo` (what `npm start` runs).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ValidationError } from '../errors.ts';
import { createForecaster } from '../core/forecast/index.ts';
import { createMemoryStateStore } from '../state/memory.ts';
import { METRIC_STATS, POLICY_NAMES, runPredictive, runReference, scorePolicy, type MetricStat, type PolicyName, type PolicyResult, type PredictiveRun } from '../sim/backtest.ts';
import { decisionsCsv, reportHtml, stableJson, summary, type ParetoPoint } from '../sim/report.ts';
import { scoringStartMinute, type Scenario } from '../sim/score.ts';
import { awsPredictivePolicy } from '../sim/aws-predictive.ts';
import { runSpotBacktest } from '../sim/traffic-backtest.ts';
import { parseTraceCsv, percentile, toMinuteGrid, type MinuteGrid } from '../sim/trace.ts';

export interface BacktestOptions {
  readonly tracePath: string;
  readonly outDir: string;
  readonly policies: readonly PolicyName[];
  readonly capacity: number | undefined;
  readonly bootMinutes: number;
  readonly usdPerNodeHour: number;
  readonly warmupDays: number;
  readonly serviceLevel: number | undefined;
  /** How predictive reads the demand metric [Average]; `Sum` reads each period once it has ended and settled, as from CloudWatch. */
  readonly metricStat?: MetricStat | undefined;
  /** Extra service levels for the Pareto curve (predictive is re-run at each). */
  readonly paretoLevels: readonly number[];
  readonly progress: boolean;
  /** `--spot-interruptions SEED [--spot-share F]`: ALB weights under seeded spot interruptions (issue 8); extra outputs only. */
  readonly spotInterruptions?: { readonly seed: number; readonly spotShare: number } | undefined;
}

export interface BacktestOutput {
  readonly results: PolicyResult[];
  readonly files: string[];
  readonly summary: Record<string, unknown>;
  readonly wallSeconds: number;
}

export function loadTrace(path: string): MinuteGrid {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`--trace ${path}`, [`cannot be read: ${(error as Error).message}`]);
  }
  return toMinuteGrid(parseTraceCsv(text, path));
}

export function scenarioFor(grid: MinuteGrid, options: Pick<BacktestOptions, 'capacity' | 'bootMinutes' | 'usdPerNodeHour' | 'warmupDays'>): Scenario {
  const capacityPerNode = options.capacity ?? percentile(grid.demand, 99) / 20;
  const scenario: Scenario = { capacityPerNode, bootMinutes: options.bootMinutes, usdPerNodeHour: options.usdPerNodeHour, warmupDays: options.warmupDays };
  const problems: string[] = [];
  if (!(capacityPerNode > 0)) problems.push(`--capacity must be > 0 (got ${capacityPerNode}; the default p99(d)/20 is 0 when the trace is mostly zeros: pass --capacity)`);
  if (!Number.isInteger(options.bootMinutes) || options.bootMinutes < 0) problems.push(`--boot-minutes must be an integer ≥ 0 (got ${options.bootMinutes})`);
  if (!(options.usdPerNodeHour >= 0)) problems.push(`--price must be ≥ 0 (got ${options.usdPerNodeHour})`);
  if (!(options.warmupDays >= 0)) problems.push(`--warmup-days must be ≥ 0 (got ${options.warmupDays})`);
  const start = scoringStartMinute(scenario);
  if (problems.length === 0 && start >= grid.demand.length) {
    problems.push(`--warmup-days ${options.warmupDays} (${start} minutes) leaves nothing to score: the trace has ${grid.demand.length} minutes`);
  }
  if (problems.length > 0) throw new ValidationError('backtest options', problems);
  return scenario;
}

function progressBar(label: string): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    const percent = Math.floor((done / total) * 100);
    if (percent === last) return;
    last = percent;
    const filled = Math.round(percent / 4);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(25 - filled)}] ${String(percent).padStart(3)}%${done === total ? '\n' : ''}`);
  };
}

export async function runBacktest(options: BacktestOptions): Promise<BacktestOutput> {
  const began = performance.now();
  const grid = loadTrace(options.tracePath);
  const scenario = scenarioFor(grid, options);
  const start = scoringStartMinute(scenario);
  const forecaster = createForecaster();
  const results: PolicyResult[] = [];
  let predictiveRun: PredictiveRun | undefined;
  for (const policy of options.policies) {
    if (policy === 'predictive') {
      predictiveRun = await runPredictive({
        grid,
        scenario,
        forecaster,
        createStateStore: createMemoryStateStore,
        knobs: { serviceLevel: options.serviceLevel, metricStat: options.metricStat },
        onProgress: options.progress ? progressBar('predictive') : undefined,
      });
      results.push(scorePolicy('predictive', grid.demand, predictiveRun.desired, scenario));
    } else if (policy === 'aws-predictive') {
      results.push(scorePolicy(policy, grid.demand, awsPredictivePolicy(grid, scenario, forecaster), scenario));
    } else {
      results.push(runReference(policy, grid, scenario));
    }
  }
  const pareto: ParetoPoint[] = [];
  // The curve shows what each level buys on its own: the cost ceiling would fold every level above it onto the baseline's cost.
  for (const level of options.paretoLevels) {
    const knobs = { serviceLevel: level, metricStat: options.metricStat, policy: { costCeiling: 'off' } };
    const run = await runPredictive({ grid, scenario, forecaster, createStateStore: createMemoryStateStore, knobs, onProgress: options.progress ? progressBar(`pareto ${level}`) : undefined });
    pareto.push({ serviceLevel: level, scores: scorePolicy('predictive', grid.demand, run.desired, scenario).scores });
  }
  const spot = options.spotInterruptions === undefined ? undefined : await runSpotBacktest({ grid, scenario, results, ...options.spotInterruptions, createStateStore: createMemoryStateStore });
  const summaryInput = {
    tracePath: options.tracePath,
    grid,
    scenario,
    results,
    ...(predictiveRun ? { predictive: { models: predictiveRun.models, serviceLevel: predictiveRun.serviceLevel, metricStat: predictiveRun.metricStat, alarmRuns: predictiveRun.alarmRuns, scheduledRuns: predictiveRun.scheduledRuns } } : {}),
    ...(pareto.length > 0 ? { pareto } : {}),
  };
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, text: string): void => {
    const path = join(outDir, name);
    writeFileSync(path, text);
    files.push(path);
  };
  if (results.length === 1) write('decisions.csv', decisionsCsv(results[0]!, start));
  else for (const r of results) write(`decisions-${r.policy}.csv`, decisionsCsv(r, start));
  const summaryObject = { ...summary(summaryInput), ...(spot === undefined ? {} : { traffic: spot.summary }) };
  write('summary.json', stableJson(summaryObject));
  const html = reportHtml({ ...summaryInput, band: predictiveRun?.band, generatedBy: 'prescale backtest' });
  write('report.html', spot === undefined ? html : spot.appendToReport(html));
  if (spot !== undefined) write('weights.csv', spot.weightsCsv);
  return { results, files, summary: summaryObject, wallSeconds: (performance.now() - began) / 1000 };
}

/** `--metric-stat`: Average or Sum (see METRIC_STATS); absent means the protocol's gauge. */
export function parseMetricStat(value: string | undefined): MetricStat | undefined {
  if (value === undefined) return undefined;
  if (!(METRIC_STATS as readonly string[]).includes(value)) throw new ValidationError('--metric-stat', [`--metric-stat must be ${METRIC_STATS.join(' or ')} (got "${value}")`]);
  return value as MetricStat;
}

export function parsePolicies(value: string): PolicyName[] {
  if (value === 'all') return [...POLICY_NAMES];
  const names = value.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(POLICY_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new ValidationError('--policy', [`unknown policy ${unknown.map((n) => `"${n}"`).join(', ')}: use ${POLICY_NAMES.join(', ')} or all`]);
  return names as PolicyName[];
}

