/** The backtest's options as the CLI defaults them, with a short warm-up for small synthetic traces. */
import type { BacktestOptions } from '../../lib/cli/backtest.ts';

export function backtestOptions(tracePath: string, outDir: string, overrides: Partial<BacktestOptions> = {}): BacktestOptions {
  return {
    tracePath,
    outDir,
    policies: ['predictive', 'reactive', 'static', 'oracle'],
    capacity: undefined,
    bootMinutes: 3,
    usdPerNodeHour: 0.192,
    warmupDays: 2,
    serviceLevel: undefined,
    paretoLevels: [],
    progress: false,
    ...overrides,
  };
}
