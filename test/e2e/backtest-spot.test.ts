/**
 * `prescale backtest --spot-interruptions SEED` end to end on a short seeded
 * synthetic trace: the weight leaves the spot group inside every notice
 * window, the run is byte-for-byte reproducible, and the BACKTEST.md contract
 * files do not change.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest, type BacktestOptions } from '../../lib/cli/backtest.ts';
import { main } from '../../lib/cli/main.ts';
import { backtestOptions, syntheticTraceCsv } from '../support/backtest.ts';


const dir = mkdtempSync(join(tmpdir(), 'prescale-spot-'));
const trace = join(dir, 'trace.csv');
writeFileSync(trace, syntheticTraceCsv({ seed: 11 }));

function options(out: string, overrides: Partial<BacktestOptions> = {}): BacktestOptions {
  return backtestOptions(trace, join(dir, out), { policies: ['reactive', 'oracle'], ...overrides });
}

const read = (out: string, name: string): string => readFileSync(join(dir, out, name), 'utf8');

interface Traffic {
  policy: string;
  target_groups: string[];
  interruptions: { notice_minute: number; reclaim_minute: number; nodes: number }[];
  minutes_with_traffic_on_draining_group: number;
  weight_changes: number;
}

describe('prescale backtest --spot-interruptions', () => {
  it('moves the weight off the spot group at or after each notice and before its nodes go', async () => {
    await runBacktest(options('spot', { spotInterruptions: { seed: 42, spotShare: 0.5 } }));
    const traffic = (JSON.parse(read('spot', 'summary.json')) as { traffic: Traffic }).traffic;
    expect(traffic.policy).toBe('reactive');
    expect(traffic.target_groups).toEqual(['on-demand', 'spot']);
    const noticed = traffic.interruptions.filter((i) => i.nodes > 0);
    expect(noticed.length).toBeGreaterThan(0);

    const [header, ...rows] = read('spot', 'weights.csv').trim().split('\n');
    expect(header).toBe('minute,on-demand,spot');
    expect(rows).toHaveLength(1440); // one day scored after two of warm-up
    const spotAt = new Map(rows.map((row) => row.split(',').map(Number)).map(([minute, , spot]) => [minute!, spot!]));
    for (const i of noticed) {
      expect(spotAt.get(i.notice_minute - 1), `before notice ${i.notice_minute}`).toBeGreaterThan(0);
      const off = [...Array(i.reclaim_minute - i.notice_minute).keys()].map((k) => i.notice_minute + k).find((m) => spotAt.get(m) === 0);
      expect(off, `spot weight 0 within [${i.notice_minute}, ${i.reclaim_minute})`).toBeDefined();
    }
    expect(traffic.minutes_with_traffic_on_draining_group).toBe(0);
    expect(traffic.weight_changes).toBeGreaterThan(0);
    const html = read('spot', 'report.html');
    expect(html).toContain('ALB weights over time');
    expect(html.indexOf('ALB weights and spot interruptions')).toBeLessThan(html.indexOf('</body>'));
    expect(html).not.toMatch(/<script|<link[^>]+href="http/);
  });

  it('is deterministic: the same seed gives byte-identical weights.csv and summary.json; another seed differs', async () => {
    await runBacktest(options('a', { spotInterruptions: { seed: 7, spotShare: 0.4 } }));
    await runBacktest(options('b', { spotInterruptions: { seed: 7, spotShare: 0.4 } }));
    await runBacktest(options('c', { spotInterruptions: { seed: 8, spotShare: 0.4 } }));
    expect(read('a', 'weights.csv')).toBe(read('b', 'weights.csv'));
    expect(read('a', 'summary.json')).toBe(read('b', 'summary.json'));
    expect(read('a', 'weights.csv')).not.toBe(read('c', 'weights.csv'));
  });

  it('leaves the contract files as they are without the flag, and adds only `traffic` with it', async () => {
    await runBacktest(options('plain'));
    await runBacktest(options('with', { spotInterruptions: { seed: 42, spotShare: 0.5 } }));
    expect(existsSync(join(dir, 'plain', 'weights.csv'))).toBe(false);
    const plain = JSON.parse(read('plain', 'summary.json')) as Record<string, unknown>;
    expect(plain).not.toHaveProperty('traffic');
    const { traffic, ...rest } = JSON.parse(read('with', 'summary.json')) as Record<string, unknown>;
    expect(traffic).toBeDefined();
    expect({ ...rest, trace: undefined }).toEqual({ ...plain, trace: undefined });
    for (const policy of ['reactive', 'oracle']) expect(read('with', `decisions-${policy}.csv`)).toBe(read('plain', `decisions-${policy}.csv`));
  });

  it('the CLI takes the flags and names a bad one', async () => {
    const out = join(dir, 'cli');
    const base = ['backtest', '--trace', trace, '--policy', 'reactive', '--warmup-days', '2', '--out', out, '--quiet'];
    const write = process.stdout.write.bind(process.stdout);
    const errors: string[] = [];
    const writeError = process.stderr.write.bind(process.stderr);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main([...base, '--spot-interruptions', '5', '--spot-share', '0.25'])).toBe(0);
      expect(await main([...base, '--spot-share', '0.25'])).toBe(2);
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeError;
    }
    expect(read('cli', 'weights.csv').split('\n').slice(0, 2)).toEqual(['minute,on-demand,spot', expect.stringMatching(/^2880,\d+,\d+$/)]);
    expect(errors.join('')).toContain('--spot-share needs --spot-interruptions SEED');
  });
});
