/** The backtest's options as the CLI defaults them, with a short warm-up for small synthetic traces. */
import type { BacktestOptions } from '../../lib/cli/backtest.ts';
import { mulberry32 } from '../../lib/core/random.ts';

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

/** A trace at 5-minute sampling: a daily wave with seeded noise and, optionally, seeded spikes of +800. */
export function syntheticTraceCsv(options: { readonly days?: number; readonly seed?: number; readonly spikeProbability?: number } = {}): string {
  const { days = 3, seed = 7, spikeProbability = 0 } = options;
  const random = mulberry32(seed);
  const lines = ['timestamp,value'];
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i < (days * 1440) / 5; i++) {
    const hour = (i * 5) / 60;
    const daily = 1000 + 600 * Math.sin(((hour % 24) / 24) * 2 * Math.PI - Math.PI / 2);
    const spike = spikeProbability > 0 && random() < spikeProbability ? 800 : 0;
    const value = Math.round(daily * (0.95 + 0.1 * random()) + spike);
    lines.push(`${new Date(t0 + i * 300_000).toISOString().slice(0, 19).replace('T', ' ')},${value}`);
  }
  return `${lines.join('\n')}\n`;
}
