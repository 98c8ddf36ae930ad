/**
 * The backtest end to end on a short synthetic trace (the real bundled trace
 * runs in `npm start`): files, determinism, causality, and re-scoring from the
 * protocol alone.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../lib/cli/backtest.ts';
import { main } from '../../lib/cli/main.ts';
import { naiveMinuteDemand, naiveScore } from '../support/rescore.ts';
import { backtestOptions, syntheticTraceCsv } from '../support/backtest.ts';


const options = backtestOptions;

function tempTrace(csv: string): { dir: string; trace: string } {
  const dir = mkdtempSync(join(tmpdir(), 'prescale-bt-'));
  const trace = join(dir, 'trace.csv');
  writeFileSync(trace, csv);
  return { dir, trace };
}

describe('prescale backtest', () => {
  const csv = syntheticTraceCsv({ spikeProbability: 0.01 });

  it('writes the contract files, and the reference scores re-score from the protocol alone to 4 decimals', async () => {
    const { dir, trace } = tempTrace(csv);
    const out = join(dir, 'out');
    await runBacktest(options(trace, out));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const { capacity: C, boot_minutes: B, price: P, start_minute: S } = summary.scenario;
    const { demand } = naiveMinuteDemand(csv);
    for (const policy of ['predictive', 'reactive', 'static', 'oracle']) {
      const decisions = readFileSync(join(out, `decisions-${policy}.csv`), 'utf8');
      expect(decisions.split('\n')[0]).toBe('minute,desired_nodes');
      const rescored = naiveScore(demand, decisions, C, B, P, S);
      const reported = summary.policies[policy];
      expect(rescored.cost.toFixed(4)).toBe(reported.cost.toFixed(4));
      expect(rescored.unserved_fraction.toFixed(4)).toBe(reported.unserved_fraction.toFixed(4));
      expect(rescored.violation_minutes).toBe(reported.violation_minutes);
      expect(rescored.launches).toBe(reported.launches);
      expect(rescored.actions).toBe(reported.actions);
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });

  it('is deterministic: the same run twice gives byte-identical files', async () => {
    const { dir, trace } = tempTrace(csv);
    await runBacktest(options(trace, join(dir, 'a')));
    await runBacktest(options(trace, join(dir, 'b')));
    for (const file of ['decisions-predictive.csv', 'decisions-reactive.csv', 'summary.json']) {
      expect(readFileSync(join(dir, 'b', file), 'utf8')).toBe(readFileSync(join(dir, 'a', file), 'utf8'));
    }
  });

  it('is causal: a run on the trace cut at minute T makes the same decisions before T', async () => {
    const lines = csv.trim().split('\n');
    // Cut after 2.5 days of the 3: the first 0.5 scored day must match.
    const cutLines = lines.slice(0, 1 + (2.5 * 1440) / 5);
    const { dir, trace } = tempTrace(csv);
    const cutTrace = join(dir, 'cut.csv');
    writeFileSync(cutTrace, `${cutLines.join('\n')}\n`);
    // Same capacity for both: the default p99 would differ between the two traces.
    const capacity = 90;
    await runBacktest(options(trace, join(dir, 'full'), { policies: ['predictive'], capacity }));
    await runBacktest(options(cutTrace, join(dir, 'cut'), { policies: ['predictive'], capacity }));
    const full = readFileSync(join(dir, 'full', 'decisions.csv'), 'utf8').trim().split('\n');
    const cut = readFileSync(join(dir, 'cut', 'decisions.csv'), 'utf8').trim().split('\n');
    // The cut grid ends one interval after its last sample; its final minutes are before T.
    expect(cut.length).toBeGreaterThan(100);
    expect(full.slice(0, cut.length)).toEqual(cut);
  });

  it('the CLI rejects bad flags with a message that names them', async () => {
    const { trace } = tempTrace(csv);
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['backtest', '--trace', trace, '--boot-minutes', 'three'])).toBe(2);
      expect(await main(['backtest', '--trace', trace, '--policy', 'magic'])).toBe(2);
      expect(await main(['backtest', '--trace', trace, '--warmup-days', '30', '--quiet'])).toBe(2);
      expect(await main(['backtest', '--tracer', trace])).toBe(2);
      expect(await main(['backtest', '--trace', '/nonexistent.csv'])).toBe(2);
      expect(await main(['backtest', '--trace', trace, '--metric-stat', 'Maximum'])).toBe(2);
      expect(await main(['backtest', '--trace', trace, '--service-level', '0.3'])).toBe(2);
      expect(await main(['backtest', '--trace', trace, '--pareto', '0.9,0.999'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    const text = errors.join('');
    expect(text).toContain('--boot-minutes must be a number (got "three")');
    expect(text).toContain('unknown policy "magic"');
    expect(text).toContain('leaves nothing to score');
    expect(text).toMatch(/Unknown option '--tracer'/);
    expect(text).toContain('cannot be read');
    expect(text).toContain('--metric-stat must be Average or Sum (got "Maximum")');
    expect(text).toContain('--service-level must be between 0.5 and 0.995, the levels calibration reads the forecast at (got 0.3)');
    expect(text).toContain('--pareto levels must be between 0.5 and 0.995, the levels calibration reads the forecast at (got 0.999)');
  });
});
