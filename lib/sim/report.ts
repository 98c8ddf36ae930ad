/**
 * The backtest's files: `decisions*.csv` and `summary.json` (the contract of
 * BACKTEST.md) and `report.html`, a self-contained page with inline SVG charts
 * that opens with no network.
 */
import { compareStrings, sortKeysDeep } from '../core/canonical.ts';
import type { ForecastBand, PolicyResult } from './backtest.ts';
import type { Scenario, Scores } from './score.ts';
import { scoringStartMinute } from './score.ts';
import type { MinuteGrid } from './trace.ts';
import { formatTimestamp } from './trace.ts';

export function decisionsCsv(result: Pick<PolicyResult, 'desired'>, startMinute: number): string {
  const lines = ['minute,desired_nodes'];
  for (let i = 0; i < result.desired.length; i++) lines.push(`${startMinute + i},${result.desired[i]}`);
  return `${lines.join('\n')}\n`;
}

/** JSON with keys sorted at every level: the same run gives the same bytes. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeysDeep(value), null, 2)}\n`;
}

export interface SummaryInput {
  readonly tracePath: string;
  readonly grid: MinuteGrid;
  readonly scenario: Scenario;
  readonly results: readonly PolicyResult[];
  readonly predictive?: { readonly models: Readonly<Record<string, number>>; readonly serviceLevel: number; readonly metricStat: string; readonly alarmRuns: number; readonly scheduledRuns: number };
  readonly pareto?: readonly ParetoPoint[];
}

export interface ParetoPoint {
  readonly serviceLevel: number;
  readonly scores: Scores;
}

export function summary(input: SummaryInput): Record<string, unknown> {
  const start = scoringStartMinute(input.scenario);
  const oracle = input.results.find((r) => r.policy === 'oracle');
  return {
    protocol: 'BACKTEST.md v1',
    trace: {
      path: input.tracePath,
      t0: formatTimestamp(input.grid.t0Ms),
      minutes: input.grid.demand.length,
      median_interval_seconds: input.grid.medianIntervalSeconds,
    },
    scenario: {
      capacity: input.scenario.capacityPerNode,
      boot_minutes: input.scenario.bootMinutes,
      price: input.scenario.usdPerNodeHour,
      warmup_days: input.scenario.warmupDays,
      start_minute: start,
      scored_minutes: input.grid.demand.length - start,
    },
    policies: Object.fromEntries(
      input.results.map((r) => [r.policy, { ...r.scores, ...(oracle && oracle.scores.cost > 0 ? { cost_vs_oracle: r.scores.cost / oracle.scores.cost } : {}) }]),
    ),
    ...(input.predictive ? { predictive: input.predictive } : {}),
    ...(input.pareto ? { pareto: input.pareto.map((p) => ({ service_level: p.serviceLevel, cost_ceiling: 'off', ...p.scores })) } : {}),
  };
}

// ------------------------------------------------------------------ terminal

/** The scores as text cells, one row per policy: the terminal table and the report's table show the same numbers. */
function scoreRows(results: readonly PolicyResult[]): string[][] {
  const oracle = results.find((r) => r.policy === 'oracle');
  return results.map((r) => [
    r.policy,
    r.scores.cost.toFixed(2),
    oracle && oracle.scores.cost > 0 ? (r.scores.cost / oracle.scores.cost).toFixed(3) : '-',
    (r.scores.unserved_fraction * 100).toFixed(4),
    String(r.scores.violation_minutes),
    String(r.scores.launches),
    String(r.scores.actions),
  ]);
}

export function scoreTable(results: readonly PolicyResult[]): string {
  const header = ['policy', 'cost USD', '× oracle', 'unserved %', 'violation min', 'launches', 'actions'];
  const rows = scoreRows(results);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ------------------------------------------------------------------ html

const COLORS: Readonly<Record<string, string>> = { predictive: '#1f77b4', reactive: '#d62728', static: '#7f7f7f', oracle: '#2ca02c', 'aws-predictive': '#9467bd' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Max per bucket so short spikes stay visible when thousands of minutes share a pixel. */
export function downsampleMax(values: ArrayLike<number>, buckets: number): number[] {
  const out: number[] = [];
  const size = Math.max(1, Math.ceil(values.length / buckets));
  for (let i = 0; i < values.length; i += size) {
    let peak = Number.NaN;
    for (let k = i; k < Math.min(values.length, i + size); k++) {
      const v = values[k]!;
      if (!Number.isNaN(v) && (Number.isNaN(peak) || v > peak)) peak = v;
    }
    out.push(peak);
  }
  return out;
}

interface Line {
  readonly label: string;
  readonly values: readonly number[];
  readonly color: string;
  readonly dashed?: boolean;
  readonly step?: boolean;
}

function svgChart(title: string, lines: readonly Line[], band: { lo: readonly number[]; hi: readonly number[] } | undefined, yLabel: string, xLabels: readonly string[]): string {
  const width = 1100;
  const height = 300;
  const left = 70;
  const bottom = 30;
  const top = 24;
  const all = lines.flatMap((l) => l.values).concat(band ? [...band.hi] : []).filter((v) => Number.isFinite(v));
  const yMax = Math.max(1e-9, ...all) * 1.05;
  const n = Math.max(...lines.map((l) => l.values.length), 2);
  const x = (i: number): number => left + (i / (n - 1)) * (width - left - 10);
  const y = (v: number): number => top + (1 - v / yMax) * (height - top - bottom);
  const path = (values: readonly number[], step: boolean): string => {
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      if (!pen) d += `M${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      else d += step ? `H${x(i).toFixed(1)}V${y(v).toFixed(1)}` : `L${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  let bandPath = '';
  if (band) {
    const upper = band.hi.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean);
    const lower = band.lo.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean).reverse();
    if (upper.length > 1) bandPath = `<polygon points="${[...upper, ...lower].join(' ')}" fill="#1f77b4" fill-opacity="0.15" stroke="none"/>`;
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = yMax * f;
    return `<line x1="${left}" x2="${width - 10}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/><text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v >= 100 ? v.toFixed(0) : v.toPrecision(3)}</text>`;
  });
  const xTicks = xLabels.map((label, k) => {
    const i = Math.round((k / Math.max(1, xLabels.length - 1)) * (n - 1));
    return `<text x="${x(i).toFixed(1)}" y="${height - 8}" text-anchor="middle" font-size="11">${escapeHtml(label)}</text>`;
  });
  const legend = lines.map((l, k) => `<tspan x="${left + 10 + k * 150}" fill="${l.color}">■ ${escapeHtml(l.label)}</tspan>`).join('');
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(title)}">
${ticks.join('')}${xTicks.join('')}${bandPath}
${lines.map((l) => `<path d="${path(l.values, l.step ?? false)}" fill="none" stroke="${l.color}" stroke-width="1.3"${l.dashed ? ' stroke-dasharray="4 3"' : ''}/>`).join('\n')}
<text x="${left}" y="14" font-size="12">${legend}</text><text x="12" y="${height / 2}" font-size="11" transform="rotate(-90 12 ${height / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>
</svg></figure>`;
}

function paretoChart(points: readonly ParetoPoint[], results: readonly PolicyResult[]): string {
  const width = 700;
  const height = 380;
  const left = 70;
  const bottom = 40;
  const top = 20;
  const all = [...points.map((p) => p.scores), ...results.map((r) => r.scores)];
  const xMax = Math.max(1e-9, ...all.map((s) => s.cost)) * 1.05;
  const xMin = Math.min(...all.map((s) => s.cost)) * 0.95;
  const yMax = Math.max(1e-6, ...all.map((s) => s.unserved_fraction * 100)) * 1.1;
  const x = (v: number): number => left + ((v - xMin) / (xMax - xMin)) * (width - left - 20);
  const y = (v: number): number => top + (1 - v / yMax) * (height - top - bottom);
  const curve = [...points].sort((a, b) => a.scores.cost - b.scores.cost);
  const marks = results.map((r) => `<circle cx="${x(r.scores.cost).toFixed(1)}" cy="${y(r.scores.unserved_fraction * 100).toFixed(1)}" r="5" fill="${COLORS[r.policy] ?? '#000'}"/><text x="${(x(r.scores.cost) + 7).toFixed(1)}" y="${(y(r.scores.unserved_fraction * 100) - 6).toFixed(1)}" font-size="11">${escapeHtml(r.policy === 'predictive' ? 'predictive (default, cost ceiling)' : r.policy)}</text>`);
  const curvePoints = curve.map((p) => `${x(p.scores.cost).toFixed(1)},${y(p.scores.unserved_fraction * 100).toFixed(1)}`).join(' ');
  const curveMarks = curve.map((p) => `<circle cx="${x(p.scores.cost).toFixed(1)}" cy="${y(p.scores.unserved_fraction * 100).toFixed(1)}" r="3.5" fill="${COLORS.predictive}"/><text x="${(x(p.scores.cost) + 5).toFixed(1)}" y="${(y(p.scores.unserved_fraction * 100) + 14).toFixed(1)}" font-size="10" fill="${COLORS.predictive}">${p.serviceLevel}</text>`);
  return `<figure><figcaption>Cost against unserved demand: predictive at several service levels without the cost ceiling (blue curve, labelled by level), the default run with it, and the baselines</figcaption>
<svg viewBox="0 0 ${width} ${height}" width="${width}" role="img" aria-label="Pareto curve">
<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#999"/><line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#999"/>
<text x="${(width + left) / 2}" y="${height - 8}" text-anchor="middle" font-size="12">cost (USD) — ${xMin.toFixed(2)} … ${xMax.toFixed(2)}</text>
<text x="14" y="${height / 2}" font-size="12" transform="rotate(-90 14 ${height / 2})" text-anchor="middle">unserved % (0 … ${yMax.toPrecision(3)})</text>
<polyline points="${curvePoints}" fill="none" stroke="${COLORS.predictive}" stroke-width="1.5"/>${curveMarks.join('')}${marks.join('')}
</svg></figure>`;
}

/** The most used models first: a run can pick a different combination at every refit. */
export function describeModels(runsByModel: Readonly<Record<string, number>>, shown = 3): string {
  const ranked = Object.entries(runsByModel).sort(([a, x], [b, y]) => y - x || compareStrings(a, b));
  if (ranked.length === 0) return 'none';
  const total = ranked.reduce((sum, [, runs]) => sum + runs, 0);
  const head = ranked.slice(0, shown).map(([model, runs]) => `${model} (${Math.round((runs / total) * 100)} % of runs)`);
  return ranked.length > shown ? `${head.join(', ')} and ${ranked.length - shown} other combinations` : head.join(', ');
}

export interface ReportInput extends SummaryInput {
  readonly band: ForecastBand | undefined;
  readonly generatedBy: string;
}

export function reportHtml(input: ReportInput): string {
  const start = scoringStartMinute(input.scenario);
  const demand = input.grid.demand.subarray(start);
  const buckets = 1500;
  const C = input.scenario.capacityPerNode;
  const xLabels = [0, 0.25, 0.5, 0.75, 1].map((f) => formatTimestamp(input.grid.t0Ms + (start + Math.round(f * (demand.length - 1))) * 60_000).slice(0, 16));
  const demandLine: Line = { label: 'demand', values: downsampleMax(demand, buckets), color: '#000' };
  const capacityCharts = input.results.map((r) =>
    svgChart(
      `${r.policy}: demand against ready capacity (ready nodes × C)`,
      [demandLine, { label: `${r.policy} ready capacity`, values: downsampleMax(Array.from(r.readyNodes, (n) => n * C), buckets), color: COLORS[r.policy] ?? '#333', step: true }],
      r.policy === 'predictive' && input.band ? { lo: downsampleMax(input.band.lo, buckets), hi: downsampleMax(input.band.hi, buckets) } : undefined,
      'demand',
      xLabels,
    ),
  );
  const cumulative = input.results.map((r) => {
    const perMinute = input.scenario.usdPerNodeHour / 60;
    let sum = 0;
    const values = Array.from(r.aliveNodes, (n) => (sum += n * perMinute));
    const step = Math.max(1, Math.ceil(values.length / buckets));
    return { label: r.policy, values: values.filter((_, i) => i % step === 0 || i === values.length - 1), color: COLORS[r.policy] ?? '#333' };
  });
  const rows = scoreRows(input.results)
    .map((cells) => `<tr>${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  const s = input.scenario;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>prescale backtest — ${escapeHtml(input.tracePath)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;max-width:1150px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}figure{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}code{background:#f4f4f4;padding:1px 4px}</style>
</head><body>
<h1>prescale backtest</h1>
<p>Trace <code>${escapeHtml(input.tracePath)}</code>: ${input.grid.demand.length} minutes from ${formatTimestamp(input.grid.t0Ms)} UTC, median sampling ${input.grid.medianIntervalSeconds} s. Scored from minute ${start} (${s.warmupDays} warm-up days).
Scenario: C = ${s.capacityPerNode.toPrecision(6)} demand per node, boot ${s.bootMinutes} min, USD ${s.usdPerNodeHour}/node-hour, billed per minute (BACKTEST.md v1).</p>
${input.predictive ? `<p>predictive: service level ${input.predictive.serviceLevel}, demand read as ${input.predictive.metricStat === 'Sum' ? 'a Sum (each period once ended and settled, as from CloudWatch)' : 'a gauge (the period in progress known)'}, forecast models ${escapeHtml(describeModels(input.predictive.models))}, ${input.predictive.scheduledRuns} scheduled runs, ${input.predictive.alarmRuns} alarm runs.</p>` : ''}
<h2>Scores</h2>
<table><thead><tr><th>policy</th><th>cost USD</th><th>× oracle</th><th>unserved %</th><th>violation minutes</th><th>launches</th><th>actions</th></tr></thead><tbody>
${rows}
</tbody></table>
${input.pareto && input.pareto.length > 0 ? paretoChart(input.pareto, input.results) : ''}
<h2>Capacity</h2>
${capacityCharts.join('\n')}
<h2>Cumulative cost</h2>
${svgChart('Cumulative cost (USD)', cumulative, undefined, 'USD', xLabels)}
<p><small>${escapeHtml(input.generatedBy)}. The charts show the maximum of each bucket of minutes. <code>decisions-*.csv</code> and <code>summary.json</code> beside this file are the scoring contract: re-score them with BACKTEST.md alone.</small></p>
</body></html>
`;
}
